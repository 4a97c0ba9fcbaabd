"""Wire every listener to the Bolt app. Each Slack surface registers itself here."""

from __future__ import annotations

from slack_bolt import App

from handlers import errors
from handlers.actions import doctor, elsewhere, moderation, next_steps
from handlers.actions import jobs as job_actions
from handlers.actions import listing as listing_actions
from handlers.commands import finetune
from handlers.deps import Deps
from handlers.events import conversation, files, home
from handlers.views import start_form


def register_all(app: App, services: Deps) -> None:
    """Register commands, events, actions and the error handler."""
    errors.register(app)
    files.register(app, services)
    home.register(app, services)
    conversation.register(app, services)

    @app.event("message")
    def handle_other_messages() -> None:
        """Other messages need no answer; listening keeps Bolt from logging them as unhandled."""

    finetune.register(app, services)
    job_actions.register(app, services)
    next_steps.register(app, services)
    elsewhere.register(app, services)
    moderation.register(app, services)
    listing_actions.register(app, services)
    doctor.register(app, services)
    start_form.register(app, services)
