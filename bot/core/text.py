"""Values from users, files, providers and models shown inside the bot's own sentences, made inert.

Services and core write sentences for the chat that may carry the bot's own markup (a mention of
the owner); the values inside them must never add any. `inert(value)` makes a value one line
without the characters that chat markup is made of: `<` and `>` become look-alike angle quotes
(no mention, channel ping or link can start), backticks a look-alike grave (no code span can be
closed). `literal(value)` shows it as a code span. Block Kit builders in `handlers/` escape the
values they render themselves, with the chat's own entities.
"""

from __future__ import annotations

MAX_SHOWN = 120
_INERT = str.maketrans({"`": "\u02cb", "<": "\u2039", ">": "\u203a"})


def inert(value: object, *, limit: int = MAX_SHOWN) -> str:
    """The value as one harmless line of at most `limit` characters."""
    text = " ".join(str(value).translate(_INERT).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def literal(value: object, *, limit: int = MAX_SHOWN) -> str:
    """The value as an inline code span it cannot break out of."""
    return f"`{inert(value, limit=limit) or ' '}`"
