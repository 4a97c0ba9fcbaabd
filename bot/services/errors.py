"""The one user-facing error path: services raise UserError with a message; adapters render it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.jobs import ServiceError
from bot.core.message import Message, say


class UserError(Exception):
    """A refusal or a problem, as one message for the user who asked; `field`, when it is about
    one option of the request (a Start field: `method`, `lr`, …), names it (the start form
    shows the message under that field)."""

    def __init__(self, message: Message | str, *, field: str | None = None) -> None:
        self.message = message if isinstance(message, Message) else say(message)
        self.field = field
        super().__init__(str(self.message))


@contextmanager
def provider_errors() -> Iterator[None]:
    """A provider's failure (ServiceError) reaches the user as its explanation."""
    try:
        yield
    except ServiceError as error:
        raise UserError(error.explained) from None
