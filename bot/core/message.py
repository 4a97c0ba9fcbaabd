"""What the bot says, as data: services and core build messages, the chat adapter renders them.

A message is a sequence of parts. A plain `str` part is the bot's own words (it may use light
formatting such as `*bold*` or a code span around a fixed command). Everything else is typed:
values from users, files, providers or models go in `Text` (shown escaped) or `Code` (shown as a
code span that cannot be broken out of); people, conversations and times are `Mention`,
`Conversation` and `When`, which only the adapter turns into the chat's markup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Text:
    """An untrusted value shown as text."""

    value: str


@dataclass(frozen=True, slots=True)
class Code:
    """An untrusted value shown as a code span (ids, names, model names)."""

    value: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A person, by their chat user id."""

    user_id: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation (channel, DM), by its chat id."""

    conversation_id: str


WhenStyle = Literal["time", "time_secs", "date_time", "date_time_secs"]


@dataclass(frozen=True, slots=True)
class When:
    """A moment, shown in the reader's own time zone where the chat can; `fallback` where it
    cannot (readable UTC, e.g. `14:20 UTC`: `bot.core.fmt.moment` builds both). `style`: the
    time alone, or with its day (`date_time`), optionally to the second."""

    epoch: int
    fallback: str
    style: WhenStyle = "time"


Part = str | Text | Code | Mention | Conversation | When


@dataclass(frozen=True, slots=True)
class Message:
    """A sentence (or a few) the bot says."""

    parts: tuple[Part, ...]

    def __str__(self) -> str:
        return plain(self)

    def __add__(self, other: Message | Part) -> Message:
        more = other.parts if isinstance(other, Message) else (other,)
        return Message((*self.parts, *more))


def say(*parts: Part | Message) -> Message:
    """A message from parts (messages are flattened)."""
    flat: list[Part] = []
    for part in parts:
        if isinstance(part, Message):
            flat.extend(part.parts)
        else:
            flat.append(part)
    return Message(tuple(flat))


def plain(message: Message) -> str:
    """The message as plain text (logs, the terminal, a chat model reading a tool's result)."""
    out = []
    for part in message.parts:
        match part:
            case str():
                out.append(part)
            case Text(value):
                out.append(value)
            case Code(value):
                out.append(f"`{value}`")
            case Mention(user_id):
                out.append(f"@{user_id}")
            case Conversation(conversation_id):
                out.append(f"#{conversation_id}")
            case When(epoch, fallback):
                if fallback.endswith("UTC"):
                    out.append(fallback)
                else:
                    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
                    out.append(f"{fallback} ({moment:%Y-%m-%d %H:%M} UTC)")
    return "".join(out)
