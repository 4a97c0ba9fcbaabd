"""The one user-facing error path: services raise UserError with a message; adapters render it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.jobs import ServiceError
from bot.core.message import Message, say


class UserError(Exception):
    """A refusal or a problem, as one message for the user who asked."""

    def __init__(self, message: Message | str) -> None:
        self.message = message if isinstance(message, Message) else say(message)
        super().__init__(str(self.message))


@contextmanager
def provider_errors() -> Iterator[None]:
    """A provider's failure (ServiceError) reaches the user as its explanation."""
    try:
        yield
    except ServiceError as error:
        raise UserError(error.explained) from None
