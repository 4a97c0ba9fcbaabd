"""The Home tab: published when the user opens it, and again after a click on it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from handlers.blocks.listing import home_view
from handlers.deps import Deps


def publish_home(services: Deps, client: WebClient, user: str, *, notice: str = "") -> None:
    """The user's Home tab as they may see it now (`notice`: the outcome of their last click)."""
    view = home_view(
        services.models.home(services.access.viewer(user)),
        now=services.clock.now(),
        workspace_url=services.workspace_url,
        notice=notice,
    )
    client.views_publish(user_id=user, view=view)


def register(app: App, services: Deps) -> None:
    """`app_home_opened` -> views.publish."""

    @app.event("app_home_opened")
    def handle_app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(services, client, event["user"])
