"""Text for Slack: untrusted text made inert in mrkdwn, and the bot's own markup, written once.

Whatever a user, a file, a provider or a model wrote reaches a mrkdwn field only through
`escape`, `code`, `pre` or `quote`; `user` and `channel` are the only writers of `<@…>` and
`<#…>`. plain_text fields are not parsed by Slack, so `plain` only keeps them to one line within
Slack's limits (a text over a limit makes Slack refuse the whole message with `invalid_blocks`).
"""

from __future__ import annotations

import re

from bot.core import fmt
from bot.core.message import Code, Conversation, Mention, Message, Text, When

# Slack's limits (characters), from the Block Kit reference.
SECTION_TEXT = 3000
SECTION_FIELD = 2000
CONTEXT_TEXT = 2000  # kept below Slack's 3,000 so ten elements stay readable
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
CONFIRM_TEXT = 300
MESSAGE_TEXT = 40_000
CODE_LIMIT = 200  # an inline name or id longer than this is shortened with …

ELLIPSIS = "…"
# Slack's `<!date^…^TOKENS|fallback>` per `When.style` (the reader's time zone and clock).
DATE_TOKENS = {
    "time": "{time}",
    "time_secs": "{time_secs}",
    "date_time": "{date_short_pretty} {time}",
    "date_time_secs": "{date_short_pretty} {time_secs}",
}
BACKTICK = "\u02cb"  # ˋ MODIFIER LETTER GRAVE ACCENT: looks like ` but never ends a code span
_LONGEST_ENTITY = len("&amp;")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,20}")


def clip(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters with …, never cutting an `&…;` entity."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 0)]
    amp = head.rfind("&", max(len(head) - _LONGEST_ENTITY + 1, 0))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + ELLIPSIS


def escape(text: str, *, limit: int | None = None) -> str:
    """Slack's rule: `&`, `<` and `>` as `&amp;`, `&lt;`, `&gt;` (nothing else); then `clip`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped if limit is None else clip(escaped, limit)


def code(text: str, *, limit: int = CODE_LIMIT) -> str:
    """An inline code span nothing can end early: one line, escaped, backticks as look-alikes."""
    flat = _CONTROL.sub(" ", text).replace("`", BACKTICK).strip()
    if not flat:
        return "_(blank)_"
    return f"`{escape(flat, limit=max(limit, 2))}`"


def pre(text: str, *, limit: int = SECTION_TEXT - 100) -> str:
    """A ``` block that cannot be closed early (no backtick inside), `limit` characters at most."""
    body = escape(text.replace("`", BACKTICK), limit=max(limit - 6, 2))
    return f"```{body or ' '}```"


def quote(text: str, *, limit: int = SECTION_TEXT - 100) -> str:
    """Escaped text as a `>` block quote, every line quoted, `limit` characters at most."""
    lines = escape(text.replace("\r\n", "\n")).split("\n")
    return clip("\n".join(f">{line}" for line in lines), limit)


def inert_value(text: str) -> str:
    """A button value holding a foreign name (a model, a job id): Slack shows no value, but it
    is escaped as mrkdwn is, so no live `<!channel>` ever travels to Slack; `from_inert_value` reads it."""
    return escape(text, limit=BUTTON_VALUE)


def from_inert_value(text: str) -> str:
    """The name an `inert_value` carries (a value set before escaping comes back unchanged)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(text: str, *, limit: int) -> str:
    """For plain_text fields and button values: one line within `limit` (Slack parses nothing)."""
    return clip(_CONTROL.sub(" ", text), limit)


def money(amount: float) -> str:
    """A dollar amount for mrkdwn, as `bot.core.fmt.usd` writes it (`< $0.01` escaped)."""
    return escape(fmt.usd(amount))


def user(user_id: str) -> str:
    """A mention of a Slack user id (`<@U…>`); anything not shaped like one is escaped text."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape(user_id, limit=CODE_LIMIT)


def channel(channel_id: str) -> str:
    """A link to a Slack conversation id (`<#C…>`); anything else is escaped text."""
    if _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escape(channel_id, limit=CODE_LIMIT)


def render(message: Message | str, *, limit: int = SECTION_TEXT) -> str:
    """A message of the services as mrkdwn: the bot's words as written, values escaped, people,
    conversations and times as Slack's markup (the only place they are written)."""
    if isinstance(message, str):
        return clip(message, limit)
    out = []
    for part in message.parts:
        match part:
            case str():
                out.append(part)
            case Text(value):
                out.append(escape(value))
            case Code(value):
                out.append(code(value))
            case Mention(user_id):
                out.append(user(user_id))
            case Conversation(conversation_id):
                out.append(channel(conversation_id))
            case When(epoch, fallback, style):
                out.append(f"<!date^{int(epoch)}^{DATE_TOKENS[style]}|{escape(fallback)}>")
    return clip("".join(out), limit)


def error_text(error: Exception) -> str:
    """What a user reads for a refusal of the services or the command parser."""
    message = getattr(error, "message", None)
    if isinstance(message, Message):
        return render(message)
    return escape(str(error), limit=SECTION_TEXT)
