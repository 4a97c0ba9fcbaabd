"""The Home tab: published when the user opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.core.commands import help_lines
from handlers.blocks.models import home_view
from handlers.deps import Deps


def register(app: App, services: Deps) -> None:
    """`app_home_opened` -> views.publish."""

    @app.event("app_home_opened")
    def handle_app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        view = home_view(
            services.models.home(services.access.viewer(user)),
            now=services.clock.now(),
            commands=help_lines(),
        )
        client.views_publish(user_id=user, view=view)
