"""Listing methods of :class:`tests.fakes.fake_slack.FakeSlack`: ``users.conversations`` and
``files.list``, in the real API's shapes (a mixin, like :mod:`tests.fakes.slack_methods`).

- ``users.conversations``: conversations ``user`` (default: the caller, the bot) is a member of,
  filtered by ``types`` (default ``public_channel``), cursor-paginated; objects without
  ``is_member``/``num_members`` as Slack documents; another user's non-public conversations
  only when the bot shares them.
- ``files.list``: files visible to the bot (shared in a public channel or a conversation it is
  in, or its own), ``created`` in ``[ts_from, ts_to]`` (inclusive), newest first, legacy paging
  (``count``/``page`` -> ``paging``); file objects list ``channels``/``groups``/``ims`` but,
  as in Slack, no ``shares``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tests.fakes.slack_methods import _cursor, _offset
from tests.fakes.slack_state import BOT_USER_ID, SlackError, SlackState, truthy

CONVERSATION_TYPES = ("public_channel", "private_channel", "mpim", "im")
FILE_TYPES = {
    "images": {"png", "jpg", "jpeg", "gif", "webp"},
    "pdfs": {"pdf"},
    "zips": {"zip"},
    "snippets": {"text", "json", "csv", "python", "javascript"},
    "spaces": {"post", "space"},
    "gdocs": {"gdoc", "gsheet", "gpres"},
}


def conversation_type(chan: dict[str, Any]) -> str:
    """The ``types`` value a conversation answers to."""
    if chan.get("is_im"):
        return "im"
    if chan.get("is_mpim"):
        return "mpim"
    return "private_channel" if chan.get("is_private") else "public_channel"


def _int(value: Any, default: int, error: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise SlackError(error) from None


class SlackListings(SlackState):
    """``users.conversations`` and ``files.list``."""

    def api_users_conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        types = [t.strip() for t in str(params.get("types") or "public_channel").split(",")]
        if not all(t in CONVERSATION_TYPES for t in types):
            raise SlackError("invalid_types")
        user = str(params.get("user") or BOT_USER_ID)
        if user not in self._users:
            raise SlackError("user_not_found")
        limit = _int(params.get("limit"), 100, "invalid_limit")
        if not 1 <= limit <= 1000:
            raise SlackError("invalid_limit")
        archived_too = not truthy(params.get("exclude_archived"))
        out = []
        for chan in self._channels.values():
            kind, members = conversation_type(chan), chan["_members"]
            if kind not in types or user not in members:
                continue
            if kind != "public_channel" and BOT_USER_ID not in members:
                continue  # another user's private conversations stay hidden from the bot
            if chan.get("is_archived") and not archived_too:
                continue
            out.append(
                {
                    k: v
                    for k, v in chan.items()
                    if not k.startswith("_") and k not in ("is_member", "num_members")
                }
            )
        start = _offset(params.get("cursor"))
        more = start + limit < len(out)
        return {
            "channels": out[start : start + limit],
            "response_metadata": {"next_cursor": _cursor(start + limit) if more else ""},
        }

    def api_files_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = [t.strip() for t in str(params.get("types") or "all").split(",")]
        if not all(t == "all" or t in FILE_TYPES for t in types):
            raise SlackError("unknown_type")
        wanted = None if "all" in types else set().union(*(FILE_TYPES[t] for t in types))
        ts_from = _int(params.get("ts_from"), 0, "invalid_ts_from")
        ts_to = _int(params.get("ts_to"), 2**62, "invalid_ts_to")
        count = min(max(_int(params.get("count"), 100, "invalid_count"), 1), 1000)
        page = max(_int(params.get("page"), 1, "invalid_page"), 1)
        channel, user = params.get("channel"), params.get("user")
        if user and user not in self._users:
            raise SlackError("user_not_found")
        matches = []
        for order, file in enumerate(self._files.values()):
            where = [*file["channels"], *file["groups"], *file["ims"]]
            if not (file["user"] == BOT_USER_ID or any(self._bot_sees(c) for c in where)):
                continue
            if not ts_from <= int(file["created"]) <= ts_to:
                continue
            if (channel and channel not in where) or (user and file["user"] != user):
                continue
            if wanted is not None and file["filetype"] not in wanted:
                continue
            matches.append((int(file["created"]), order, file))
        matches.sort(key=lambda m: (m[0], m[1]), reverse=True)
        chunk = matches[(page - 1) * count : page * count]
        files = [
            {k: v for k, v in json.loads(json.dumps(f)).items() if k != "shares"}
            for _, _, f in chunk
        ]
        total = len(matches)
        paging = {"count": count, "total": total, "page": page, "pages": math.ceil(total / count)}
        return {"files": files, "paging": paging}

    def _bot_sees(self, channel_id: str) -> bool:
        chan = self._channels.get(channel_id)
        if chan is None:
            return False
        return conversation_type(chan) == "public_channel" or BOT_USER_ID in chan["_members"]
