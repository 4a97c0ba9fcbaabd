"""Workspace admins and owners, from users.info, cached briefly."""

from __future__ import annotations

import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

TTL_S = 60.0


class WorkspaceAdmins:
    """`is_admin(user_id)`: a Slack workspace admin or owner (looked up at most once a minute)."""

    def __init__(self, *, client: WebClient, ttl: float = TTL_S) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def __call__(self, user_id: str) -> bool:
        """True for workspace admins and owners; unknown users are not admins."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        try:
            user = self._client.users_info(user=user_id)["user"]
        except SlackApiError:
            return False
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        with self._lock:
            self._cache[user_id] = (now, admin)
        return admin


RECHECK_S = 0.0  # a non-member is always looked up again: they may have just joined
MAX_MEMBER_PAGES = 20  # 20,000 members: beyond that a conversation is checked from the cached pages


class ConversationMembers:
    """`is_member(user_id, conversation_id)` from conversations.members, cached per conversation.

    A conversation the bot cannot read (it left, or it never was in it) has no members here, so
    nothing in it is visible to anyone but admins.
    """

    def __init__(self, *, client: WebClient, ttl: float = TTL_S) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, user_id: str, conversation_id: str) -> bool:
        """True when `user_id` is a member of `conversation_id`, as Slack said at most a minute
        ago; a user not in the cached list is looked up again (they may have just joined)."""
        if user_id in self.members(conversation_id):
            return True
        return user_id in self.members(conversation_id, max_age=RECHECK_S)

    def members(self, conversation_id: str, *, max_age: float | None = None) -> frozenset[str]:
        """The conversation's members (cached for the TTL, or `max_age` seconds)."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(conversation_id)
        if cached and now - cached[0] < (self._ttl if max_age is None else max_age):
            return cached[1]
        found: set[str] = set()
        cursor = None
        try:
            for _ in range(MAX_MEMBER_PAGES):
                page = self._client.conversations_members(
                    channel=conversation_id, limit=1000, cursor=cursor
                )
                found.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError:
            found = set()  # channel_not_found, not_in_channel…: nobody is shown its contents
        members = frozenset(found)
        with self._lock:
            self._cache[conversation_id] = (now, members)
        return members
