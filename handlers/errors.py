"""The last line of defence: one friendly line for the user, the details in the log."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.context.respond import Respond

log = logging.getLogger("finetune_bot.errors")

SORRY = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell an admin."
)


def register(app: App) -> None:
    """Install the global error handler."""

    @app.error
    def handle_error(error: Exception, body: dict[str, Any], respond: Respond | None) -> None:
        kind = body.get("type") or body.get("command") or "request"
        log.error("unhandled error in %s: %s", kind, error, exc_info=error)
        if respond is not None and body.get("response_url"):
            try:
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:
                log.exception("could not tell the user about the error")
