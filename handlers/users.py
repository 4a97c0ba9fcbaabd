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
