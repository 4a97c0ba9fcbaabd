"""File events: `file_shared` and `message` with subtype `file_share` -> dataset intake."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from handlers.deps import Deps


def register(app: App, services: Deps) -> None:
    """Listen for shared files; each file is claimed once, then checked in the background."""

    @app.event("file_shared")
    def handle_file_shared(event: dict[str, Any]) -> None:
        if event.get("user_id") == services.bot_user_id:
            return  # the bot's own uploads (charts)
        services.datasets.file_shared(
            file_id=event["file_id"],
            channel_id=event.get("channel_id") or "",
            user_id=event.get("user_id") or "",
            message_ts=None,
        )

    @app.event({"type": "message", "subtype": "file_share"})
    def handle_file_share_message(event: dict[str, Any]) -> None:
        if event.get("user") == services.bot_user_id or event.get("bot_id"):
            return
        for file in event.get("files") or []:
            services.datasets.file_shared(
                file_id=file["id"],
                channel_id=event["channel"],
                user_id=event.get("user") or "",
                message_ts=event.get("thread_ts") or event.get("ts"),
            )
