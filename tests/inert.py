"""Checks that what the bot sends to Slack cannot ping or phish.

Slack parses `<…>` in every mrkdwn text (message `text` fallbacks included): `<!channel>`,
`<!here>`, `<!everyone>`, `<@U…>`, `<#C…>`, `<https://…|label>`. Only the bot's own markup may
appear: mentions of the real user ids and conversation ids a test names, `<!date^…>`, and the
bot's own links (a thread's permalink in the fake workspace, a job's page at its provider).
plain_text objects are not parsed, so they are not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_state import WORKSPACE_URL

TEXT_KEYS = frozenset({"text", "fallback", "pretext", "initial_comment"})
SENDING = (
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "chat.scheduleMessage",
    "views.open",
    "views.update",
    "views.push",
    "views.publish",
    "files.completeUploadExternal",
)
_USER = re.compile(r"<@([UW][A-Z0-9]+)>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^<>|]*\|[^<>]*>")
# The only links the bot writes itself (handlers/blocks/listing.py, handlers/blocks/inspect.py).
_OWN_LINK = re.compile(
    "<(?:"
    + "|".join(
        re.escape(prefix)
        for prefix in (
            f"{WORKSPACE_URL}archives/",
            "https://platform.openai.com/finetune/",
            "https://api.together.ai/fine-tuning/",
        )
    )
    + r")[A-Za-z0-9_./?=&;-]+\|[^<>|]+>"
)


def check_inert(text: str, *, users: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
    """Fail unless every `<` in `text` opens a mention of an allowed id or a date."""
    allowed_users, allowed_channels = set(users), set(channels)
    for start in (m.start() for m in re.finditer("<", text)):
        user, channel, date, link = (
            p.match(text, start) for p in (_USER, _CHANNEL, _DATE, _OWN_LINK)
        )
        ok = (
            (user is not None and user.group(1) in allowed_users)
            or (channel is not None and channel.group(1) in allowed_channels)
            or date is not None
            or link is not None
        )
        assert ok, f"live Slack markup at {start}: {text[start : start + 60]!r} in {text!r}"


def texts(value: Any, key: str = "") -> Iterator[str]:
    """Every mrkdwn string of a message, view or payload (plain_text objects skipped)."""
    if isinstance(value, str):
        if key in TEXT_KEYS:
            yield value
        if key in ("blocks", "view") and value.strip()[:1] in ("[", "{"):
            yield from texts(json.loads(value), key)
    elif isinstance(value, dict):
        if value.get("type") == "plain_text":
            return
        for name, item in value.items():
            yield from texts(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item, key)


def check_payload(payload: Any, *, users: Iterable[str] = (), channels: Iterable[str] = ()) -> int:
    """`check_inert` on every text of `payload`; returns how many texts were checked."""
    found = list(texts(payload))
    for text in found:
        check_inert(text, users=users, channels=channels)
    return len(found)


def check_sent(slack: FakeSlack, *, users: Iterable[str] = (), channels: Iterable[str] = ()) -> int:
    """`check_payload` on every message and view the bot sent to the fake Slack."""
    checked = 0
    with slack.lock:
        calls = list(slack.calls)
    for call in calls:
        if call.method in SENDING:
            checked += check_payload(call.params, users=users, channels=channels)
    return checked
