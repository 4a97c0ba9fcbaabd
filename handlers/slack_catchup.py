"""Catch-up listing: files shared lately in the bot's conversations (users.conversations, files.list).

At most two paginated calls a pass, whatever the number of conversations (`conversations.history`
would cost one Tier 3 call per conversation, and misses files shared in thread replies).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient

from bot.services.ports import SharedFile

log = logging.getLogger(__name__)

CONVERSATION_TYPES = "public_channel,private_channel,mpim,im"
PAGE_SIZE = 200  # Slack recommends no more than 200 a page
MAX_PAGES = 25  # 5,000 files or conversations a pass; beyond that, the newest are kept


class SlackRecentFiles:
    """RecentFiles over the Web API (the WebClient already waits out 429s)."""

    def __init__(self, *, client: WebClient, bot_user_id: str | None) -> None:
        self._client = client
        self._bot_user_id = bot_user_id

    def shared_between(self, *, oldest: dt.datetime, latest: dt.datetime) -> list[SharedFile]:
        """Files created in [oldest, latest] in the bot's conversations, not the bot's own."""
        files = [
            file
            for file in self._files(oldest, latest)
            if file.get("user") != self._bot_user_id and file.get("mode") != "tombstone"
        ]
        member = self._conversations() if files else set()  # a quiet minute costs one call
        found: list[SharedFile] = []
        for file in files:
            shared_in = [*file.get("channels", []), *file.get("groups", []), *file.get("ims", [])]
            channel = next((c for c in shared_in if c in member), None)
            if channel is None:  # a public channel the bot is not in: no event would come either
                continue
            found.append(
                SharedFile(
                    id=file["id"],
                    name=file.get("name") or file.get("title") or "",
                    user_id=file.get("user") or "",
                    channel_id=channel,
                    created=dt.datetime.fromtimestamp(int(file.get("created") or 0), dt.UTC),
                )
            )
        return found

    def _conversations(self) -> set[str]:
        ids: set[str] = set()
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = self._client.users_conversations(
                types=CONVERSATION_TYPES, exclude_archived=True, limit=PAGE_SIZE, cursor=cursor
            )
            ids |= {c["id"] for c in page.get("channels") or []}
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return ids

    def _files(self, oldest: dt.datetime, latest: dt.datetime) -> Iterator[dict[str, Any]]:
        # ts_to fixes the set, so pages do not shift while new files arrive (newest come first).
        ts_from = str(math.floor(oldest.timestamp()))
        ts_to = str(math.ceil(latest.timestamp()))
        for number in range(1, MAX_PAGES + 1):
            page = self._client.files_list(
                count=PAGE_SIZE, page=number, ts_from=ts_from, ts_to=ts_to
            )
            yield from page.get("files") or []
            if number >= int((page.get("paging") or {}).get("pages") or 1):
                return
        log.warning(
            "catch-up: more than %d files since %s; older ones skipped",
            PAGE_SIZE * MAX_PAGES,
            oldest,
        )
