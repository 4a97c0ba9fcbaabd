"""State of :class:`tests.fakes.fake_slack.FakeSlack`: messages, users, channels, files.

Holds the in-memory workspace and the test-facing helpers (``add_user``, ``add_file``,
``messages``...). Web API methods are in :mod:`tests.fakes.slack_methods`.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

TEAM_ID = "T1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A1"
WORKSPACE_URL = "https://fake-workspace.slack.com/"

JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files", "user_auth_blocks")


class SlackError(Exception):
    """A Web API error: answered as ``{"ok": false, "error": code, **extra}`` (HTTP 200)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class Call:
    """One Web API call received by the fake (``params`` has JSON-string fields decoded)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    status: int = 0
    response: dict[str, Any] | None = None
    fault: str | None = None


@dataclass
class HttpRecord:
    """A non-API request: a file download or a raw upload POST."""

    method: str
    path: str
    headers: dict[str, str]
    time: float
    status: int = 0
    size: int = 0


@dataclass
class UploadedFile:
    """A file the app uploaded with ``files_upload_v2`` (after completeUploadExternal)."""

    id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None
    message_ts: str | None
    file: dict[str, Any] = field(repr=False, default_factory=dict)


def truthy(value: Any) -> bool:
    """Slack booleans: JSON true, or "1"/"true" in form bodies."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def ts_key(ts: str) -> tuple[int, int]:
    """Sort key of a message ts ``"1700000000.000100"``."""
    sec, _, micro = ts.partition(".")
    return int(sec or 0), int((micro or "0").ljust(6, "0")[:6])


def random_id(prefix: str, n: int = 10) -> str:
    """Slack-like ids: a prefix plus upper-case alphanumerics."""
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


_FILE_TYPES = {
    "jsonl": ("text", "text/plain", "Plain Text"),
    "txt": ("text", "text/plain", "Plain Text"),
    "json": ("json", "application/json", "JSON"),
    "csv": ("csv", "text/csv", "CSV"),
    "png": ("png", "image/png", "PNG"),
    "pdf": ("pdf", "application/pdf", "PDF"),
    "zip": ("zip", "application/zip", "Zip"),
    "gz": ("gzip", "application/gzip", "GZip"),
}


class SlackState:
    """The fake workspace ``T1``: pre-registered users ``U1`` (member) and ``UBOT`` (the bot)."""

    origin: str
    lock: threading.RLock

    def __init__(self) -> None:
        self.trigger_ttl = 3.0
        self.ephemerals: list[dict[str, Any]] = []
        # the answers to slash commands (the HTTP reply, not a Web API call), for recordings
        self.command_answers: list[dict[str, Any]] = []
        self.uploaded_files: list[UploadedFile] = []
        self.home_views: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_content: dict[str, bytes] = {}
        self._redirects: dict[str, str] = {}
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._views: dict[str, dict[str, Any]] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._last_ts = 0
        self.add_user("U1", name="alice", real_name="Alice Example")
        self.add_user(BOT_USER_ID, name="finetune-bot", real_name="Finetune Bot", is_bot=True)

    # -- state helpers -------------------------------------------------------------------
    def _next_ts(self) -> str:
        with self.lock:
            micro = max(int(time.time() * 1_000_000), self._last_ts + 100)
            self._last_ts = micro
            return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def new_trigger_id(self, age: float = 0.0) -> str:
        """Issue a trigger id as Slack would in an interaction payload (``age`` backdates it)."""
        trigger = f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self.lock:
            self._triggers[trigger] = time.time() - age
        return trigger

    def add_user(
        self,
        user_id: str,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/Berlin",
        is_bot: bool = False,
        deleted: bool = False,
        is_restricted: bool = False,
    ) -> dict[str, Any]:
        """Register (or replace) a user returned by ``users.info``."""
        name = name or user_id.lower()
        real = real_name or name.title()
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real,
            "tz": tz,
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "profile": {
                "real_name": real,
                "display_name": name,
                "real_name_normalized": real,
                "display_name_normalized": name,
                "email": f"{name}@example.com",
                "team": TEAM_ID,
            },
            "is_admin": is_admin or is_owner,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": is_restricted,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        with self.lock:
            self._users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        members: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register a conversation; ids starting with ``D`` are IMs, ``G`` private channels.

        Without ``members`` a channel is open: every user the fake knows (now or later) is a
        member, as in a workspace's #general. An IM ``D<x>`` is between ``U<x>`` and the bot."""
        kind = channel_id[:1]
        with self.lock:
            is_open = members is None and kind != "D"
            if members is None and kind == "D":
                members = ["U" + channel_id[1:], BOT_USER_ID]
            if members is None:
                members = [u for u, d in self._users.items() if not d["is_bot"]] + [BOT_USER_ID]
            if kind == "D":
                chan: dict[str, Any] = {
                    "id": channel_id,
                    "created": 1700000000,
                    "is_im": True,
                    "is_org_shared": False,
                    "user": "U" + channel_id[1:],
                    "is_user_deleted": False,
                    "priority": 0,
                }
            else:
                chan_name = name or f"channel-{channel_id.lower()}"
                chan = {
                    "id": channel_id,
                    "name": chan_name,
                    "is_channel": kind == "C",
                    "is_group": kind == "G",
                    "is_im": False,
                    "is_mpim": False,
                    "is_private": kind == "G",
                    "created": 1700000000,
                    "is_archived": False,
                    "is_general": False,
                    "name_normalized": chan_name,
                    "is_shared": False,
                    "is_org_shared": False,
                    "is_member": BOT_USER_ID in members,
                    "num_members": len(members),
                    "topic": {"value": "", "creator": "", "last_set": 0},
                    "purpose": {"value": "", "creator": "", "last_set": 0},
                }
            chan["_members"] = list(members)
            chan["_open"] = is_open
            self._channels[channel_id] = chan
            return chan

    def ensure_user(self, user_id: str) -> None:
        """Register `user_id` with default fields unless the fake knows it already."""
        with self.lock:
            known = user_id in self._users
        if not known:
            self.add_user(user_id)

    def members_of(self, channel_id: str) -> list[str]:
        """The conversation's members as ``conversations.members`` lists them."""
        with self.lock:
            chan = self._channel(channel_id)
            members = list(chan["_members"])
            if chan.get("_open"):
                members += [u for u, d in self._users.items() if u not in members]
            return members

    def add_file(
        self,
        content: bytes,
        name: str = "data.jsonl",
        filetype: str | None = None,
        channel: str = "C1",
        user: str = "U1",
        ts: str | None = None,
        foreign_host: str | None = None,
        *,
        redirect_to: str | None = None,
        title: str | None = None,
        mimetype: str | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """Register a user's upload and return its ``files.info`` object (the live dict).

        A root message (subtype ``file_share``) is stored at ``ts`` (a new ts if ``None``;
        a reply when ``thread_ts`` is given). ``foreign_host`` (``"127.0.0.2:8080"`` or an
        origin) makes ``url_private*`` point elsewhere; ``redirect_to`` makes this fake's
        file host answer 302 to that URL (only after a valid token).
        """
        with self.lock:
            file_id = random_id("F")
            file = self._register_file(
                file_id,
                content,
                name,
                title or name,
                user,
                filetype=filetype,
                mimetype=mimetype,
                foreign_host=foreign_host,
            )
            if redirect_to:
                self._redirects[file_id] = redirect_to
            chan = self._channels.get(channel) or self.add_channel(channel)
            if ts:  # an upload back then: files.list filters on `created`
                file["created"] = file["timestamp"] = int(float(ts))
            ts = ts or self._next_ts()
            existing = next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)
            snapshot = {k: v for k, v in file.items() if k not in ("shares", "channels")}
            if existing is not None:
                existing.setdefault("files", []).append(snapshot)
            else:
                msg: dict[str, Any] = {
                    "type": "message",
                    "subtype": "file_share",
                    "text": "",
                    "files": [snapshot],
                    "upload": False,
                    "user": user,
                    "display_as_bot": False,
                    "ts": ts,
                    "team": TEAM_ID,
                    "_channel": channel,
                    "_edits": [],
                }
                if thread_ts:
                    msg.update(thread_ts=thread_ts, _root=thread_ts)
                self._store(channel, msg)
            self._share(file, chan, ts, thread_ts)
            return file

    def _register_file(
        self, file_id: str, content: bytes, name: str, title: str, user: str, **kw: Any
    ) -> dict[str, Any]:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        ftype, mime, pretty = _FILE_TYPES.get(ext, ("binary", "application/octet-stream", "Binary"))
        host = kw.get("foreign_host")
        origin = (host if host.startswith("http") else f"http://{host}") if host else self.origin
        safe = quote(name.lower().replace(" ", "_"), safe="")  # one path segment, as Slack does
        now = int(time.time())
        file: dict[str, Any] = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title,
            "mimetype": kw.get("mimetype") or mime,
            "filetype": kw.get("filetype") or ftype,
            "pretty_type": pretty,
            "user": user,
            "user_team": TEAM_ID,
            "editable": False,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{origin}/files-pri/{TEAM_ID}-{file_id}/{safe}",
            "url_private_download": f"{origin}/files-pri/{TEAM_ID}-{file_id}/download/{safe}",
            "permalink": f"{WORKSPACE_URL}files/{user}/{file_id}/{safe}",
            "permalink_public": f"https://slack-files.com/{TEAM_ID}-{file_id}-{secrets.token_hex(5)}",
            "has_rich_preview": False,
            "file_access": "visible",
            "channels": [],
            "groups": [],
            "ims": [],
            "shares": {},
            "comments_count": 0,
        }
        with self.lock:
            self._files[file_id] = file
            self._file_content[file_id] = content
        return file

    def _share(
        self, file: dict[str, Any], chan: dict[str, Any], ts: str, thread_ts: str | None
    ) -> None:
        cid = chan["id"]
        private = cid[:1] in "DG"
        listing = {"D": "ims", "G": "groups"}.get(cid[:1], "channels")
        if cid not in file[listing]:
            file[listing].append(cid)
        if private:
            file["is_public"] = False
        share: dict[str, Any] = {
            "reply_users": [],
            "reply_users_count": 0,
            "reply_count": 0,
            "ts": ts,
            "channel_name": chan.get("name", cid),
            "team_id": TEAM_ID,
            "share_user_id": file["user"],
            "source": "UNKNOWN",
        }
        if thread_ts:
            share["thread_ts"] = thread_ts
        file["shares"].setdefault("private" if private else "public", {}).setdefault(
            cid, []
        ).append(share)

    # -- lookups used by the Web API methods ----------------------------------------------
    def _channel(self, channel: Any) -> dict[str, Any]:
        channel = str(channel or "")
        if not channel:
            raise SlackError("channel_not_found")
        if channel[0] in "UW":  # posting to a user id goes to the bot's DM with them
            channel = "D" + channel[1:]
        return self._channels.get(channel) or self.add_channel(channel)

    def _find(self, channel: str, ts: Any) -> dict[str, Any]:
        for msg in self._messages.get(channel, []):
            if msg["ts"] == ts:
                return msg
        raise SlackError("message_not_found")

    def _store(self, channel: str, msg: dict[str, Any]) -> dict[str, Any]:
        msgs = self._messages.setdefault(channel, [])
        msgs.append(msg)
        msgs.sort(key=lambda m: ts_key(m["ts"]))
        return msg

    def _public(self, msg: dict[str, Any], *, metadata: bool = True) -> dict[str, Any]:
        out = {k: v for k, v in msg.items() if not k.startswith("_")}
        if not metadata:
            out.pop("metadata", None)
        reactions = msg.get("_reactions") or {}
        if reactions:
            out["reactions"] = [
                {"name": n, "users": list(u), "count": len(u)} for n, u in reactions.items()
            ]
        replies = [
            m for m in self._messages.get(msg["_channel"], []) if m.get("_root") == msg["ts"]
        ]
        if replies:
            users = sorted({m.get("user", "") for m in replies})
            out.update(
                thread_ts=msg["ts"],
                reply_count=len(replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=replies[-1]["ts"],
            )
        return out

    def _bot_message(self, ts: str) -> dict[str, Any]:
        return {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": "",
            "team": TEAM_ID,
            "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "Finetune Bot"},
        }

    # -- inspection ----------------------------------------------------------------------
    def _inspect(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = self._public(msg)
        out.update(
            channel=msg["_channel"],
            thread_ts=msg.get("_root") or out.get("thread_ts"),
            reply_broadcast=bool(msg.get("_broadcast")),
            metadata=msg.get("metadata"),
            blocks=msg.get("blocks"),
            edit_count=len(msg["_edits"]),
            edits=list(msg["_edits"]),
        )
        return json.loads(json.dumps(out))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every stored message of a channel (roots and replies) in ts order."""
        with self.lock:
            return [self._inspect(m) for m in self._messages.get(channel, [])]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The root message ``ts`` (if stored) followed by its replies."""
        with self.lock:
            return [
                self._inspect(m)
                for m in self._messages.get(channel, [])
                if m["ts"] == ts or m.get("_root") == ts
            ]

    def reactions(self, channel: str, ts: str) -> set[str]:
        """Reaction names currently on a message (by anyone)."""
        with self.lock:
            msg = self._find(channel, ts)
            return set(msg.get("_reactions", {}))

    def file_content(self, file_id: str) -> bytes:
        """The bytes behind a registered or uploaded file."""
        with self.lock:
            return self._file_content[file_id]
