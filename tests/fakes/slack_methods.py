"""Web API method implementations of :class:`tests.fakes.fake_slack.FakeSlack` (a mixin).

Each ``api_<method with dots as underscores>(params)`` returns the JSON body of a successful
call or raises :class:`SlackError`. The server class owns locking, auth and fault injection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

from tests.fakes.slack_blocks import MAX_TEXT, check_blocks, check_metadata, check_view
from tests.fakes.slack_state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    WORKSPACE_URL,
    SlackError,
    SlackState,
    UploadedFile,
    random_id,
    truthy,
    ts_key,
)


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(str(cursor)).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        raise SlackError("invalid_cursor") from None


def _page(items: list[dict[str, Any]], params: dict[str, Any], default: int) -> dict[str, Any]:
    start = _offset(params.get("cursor"))
    limit = int(params.get("limit") or default) or default
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "messages": chunk,
        "has_more": more,
        "response_metadata": {"next_cursor": _cursor(start + limit) if more else ""},
    }


class SlackMethods(SlackState):
    """Web API methods; ``strict_triggers`` rejects trigger ids not issued by the fake."""

    strict_triggers: bool = False

    def _content(self, params: dict[str, Any], *, required: bool) -> dict[str, Any]:
        """Validate text/blocks/attachments/metadata; returns the fields to store."""
        fields: dict[str, Any] = {}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                fields[key] = params[key]
        if required and not any(fields.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        text = fields.get("text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if "blocks" in fields:
            if isinstance(fields["blocks"], str):
                raise SlackError("invalid_blocks_format")
            errors = check_blocks(fields["blocks"])
            if errors:
                raise SlackError(
                    "invalid_blocks", errors=errors, response_metadata={"messages": errors}
                )
        if "metadata" in fields and not check_metadata(fields["metadata"]):
            raise SlackError("invalid_metadata_format")
        return fields

    # -- auth / users / channels ---------------------------------------------------------
    def api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": WORKSPACE_URL,
            "team": "Fake Workspace",
            "user": "finetune-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def api_bots_info(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("bot", BOT_ID) != BOT_ID:
            raise SlackError("bot_not_found")
        bot = {"id": BOT_ID, "deleted": False, "name": "Finetune Bot", "updated": 1700000000}
        return {"bot": {**bot, "app_id": APP_ID, "user_id": BOT_USER_ID, "icons": {}}}

    def api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(params.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": dict(user)}

    def api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        return {"channel": {k: v for k, v in chan.items() if not k.startswith("_")}}

    def api_conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        page = _page(self.members_of(str(params.get("channel"))), params, 100)  # type: ignore[arg-type]
        return {"members": page["messages"], "response_metadata": page["response_metadata"]}

    def api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            raise SlackError("not_implemented" if users else "users_list_not_supplied")
        return {"channel": {"id": self._channel(users[0])["id"]}}

    # -- messages ------------------------------------------------------------------------
    def api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        fields = self._content(params, required=True)
        ts = self._next_ts()
        msg = {**self._bot_message(ts), **fields, "_channel": chan["id"], "_edits": []}
        thread_ts = params.get("thread_ts")
        if thread_ts:
            root = next(
                (m for m in self._messages.get(chan["id"], []) if m["ts"] == thread_ts), None
            )
            root_ts = (root.get("_root") or root["ts"]) if root else str(thread_ts)
            msg.update(thread_ts=root_ts, _root=root_ts)
            if root is not None:
                msg["parent_user_id"] = root.get("user")
            if truthy(params.get("reply_broadcast")):
                msg.update(subtype="thread_broadcast", _broadcast=True)
        self._store(chan["id"], msg)
        return {"channel": chan["id"], "ts": ts, "message": self._public(msg)}

    def api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        msg = self._find(chan["id"], params.get("ts"))
        if msg.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        fields = self._content(params, required=True)
        msg["_edits"].append({k: msg.get(k) for k in ("text", "blocks", "attachments", "metadata")})
        msg.update(fields)
        msg["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        public = self._public(msg)
        return {
            "channel": chan["id"],
            "ts": msg["ts"],
            "text": msg.get("text", ""),
            "message": public,
        }

    def api_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        msg = self._find(chan["id"], params.get("ts"))
        if msg.get("user") != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        self._messages[chan["id"]].remove(msg)
        return {"channel": chan["id"], "ts": msg["ts"]}

    def api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        if not params.get("user"):
            raise SlackError("user_not_found")
        fields = self._content(params, required=True)
        ts = self._next_ts()
        entry = {"channel": chan["id"], "user": params["user"], "message_ts": ts, **fields}
        entry["thread_ts"] = params.get("thread_ts")
        self.ephemerals.append(entry)
        return {"message_ts": ts}

    def api_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        msg = self._find(chan["id"], params.get("message_ts"))
        link = f"{WORKSPACE_URL}archives/{chan['id']}/p{msg['ts'].replace('.', '')}"
        return {"channel": chan["id"], "permalink": link}

    def api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        ts = str(params.get("ts") or "")
        msgs = self._messages.get(chan["id"], [])
        root = next((m for m in msgs if m["ts"] == ts), None)
        replies = [m for m in msgs if m.get("_root") == ts]
        if root is None and not replies:
            raise SlackError("thread_not_found")
        if root is not None and root.get("_root"):  # ts of a reply: just that message
            thread = [root]
        else:
            thread = ([root] if root else []) + replies
        meta = truthy(params.get("include_all_metadata"))
        return _page([self._public(m, metadata=meta) for m in thread], params, 1000)

    def api_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        meta = truthy(params.get("include_all_metadata"))
        inclusive = truthy(params.get("inclusive"))
        oldest, latest = params.get("oldest"), params.get("latest")
        out = []
        for msg in reversed(self._messages.get(chan["id"], [])):
            if msg.get("_root") and not msg.get("_broadcast"):
                continue
            key = ts_key(msg["ts"])
            if oldest and (
                key < ts_key(str(oldest)) or (key == ts_key(str(oldest)) and not inclusive)
            ):
                continue
            if latest and (
                key > ts_key(str(latest)) or (key == ts_key(str(latest)) and not inclusive)
            ):
                continue
            out.append(self._public(msg, metadata=meta))
        return {**_page(out, params, 100), "pin_count": 0}

    # -- reactions -----------------------------------------------------------------------
    def _reaction_target(self, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        chan = self._channel(params.get("channel"))
        msg = self._find(chan["id"], params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name or ":" in name or " " in name:
            raise SlackError("invalid_name")
        return msg, name

    def api_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.setdefault("_reactions", {}).setdefault(name, [])
        if BOT_USER_ID in users:
            raise SlackError("already_reacted")
        users.append(BOT_USER_ID)
        return {}

    def api_reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        msg, name = self._reaction_target(params)
        users = msg.setdefault("_reactions", {}).get(name, [])
        if BOT_USER_ID not in users:
            raise SlackError("no_reaction")
        users.remove(BOT_USER_ID)
        if not users:
            del msg["_reactions"][name]
        return {}

    def api_reactions_get(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(params.get("channel"))
        msg = self._find(chan["id"], params.get("timestamp"))
        return {"type": "message", "channel": chan["id"], "message": self._public(msg)}

    # -- files ---------------------------------------------------------------------------
    def api_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self._files.get(str(params.get("file", "")))
        if file is None:
            raise SlackError("file_not_found")
        meta = {"next_cursor": ""}
        return {"file": json.loads(json.dumps(file)), "comments": [], "response_metadata": meta}

    def api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length", ""))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not filename or length < 0:
            raise SlackError("invalid_arguments")
        file_id = random_id("F")
        token = hashlib.sha256(file_id.encode()).hexdigest()[:24]
        self._pending_uploads[file_id] = {
            "filename": str(filename),
            "length": length,
            "token": token,
            "content": None,
            "alt_txt": params.get("alt_txt"),
        }
        return {"upload_url": f"{self.origin}/upload/v1/{token}", "file_id": file_id}

    def api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        channel_id = params.get("channel_id") or (channels[0] if channels else None)
        pending = []
        for item in files:
            upload = self._pending_uploads.get(str(item.get("id")))
            if upload is None or upload["content"] is None:
                raise SlackError("file_not_found")
            pending.append((item, upload))
        out = []
        thread_ts = params.get("thread_ts")
        comment = params.get("initial_comment")
        for item, upload in pending:
            del self._pending_uploads[item["id"]]
            title = item.get("title") or upload["filename"]
            file = self._register_file(
                item["id"], upload["content"], upload["filename"], title, BOT_USER_ID
            )
            msg_ts = None
            if channel_id:
                chan = self._channel(channel_id)
                msg_ts = self._next_ts()
                msg = {**self._bot_message(msg_ts), "text": comment or "", "_channel": chan["id"]}
                snapshot = {k: v for k, v in file.items() if k not in ("shares", "channels")}
                msg.update(files=[snapshot], upload=True, display_as_bot=False, _edits=[])
                if thread_ts:
                    msg.update(thread_ts=thread_ts, _root=thread_ts)
                self._store(chan["id"], msg)
                self._share(file, chan, msg_ts, thread_ts)
            self.uploaded_files.append(
                UploadedFile(
                    item["id"],
                    upload["filename"],
                    title,
                    upload["content"],
                    channel_id,
                    thread_ts,
                    comment,
                    msg_ts,
                    file,
                )
            )
            out.append({"id": item["id"], "title": title})
        return {"files": out}

    # -- views ---------------------------------------------------------------------------
    def _use_trigger(self, trigger_id: Any) -> None:
        if not trigger_id:
            raise SlackError("invalid_arguments")
        trigger_id = str(trigger_id)
        issued = self._triggers.get(trigger_id)
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if issued is None and self.strict_triggers:
            raise SlackError("invalid_trigger_id")
        if issued is not None and time.time() - issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def _make_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        if isinstance(view, str):
            raise SlackError("invalid_arguments")
        errors = check_view(view)
        if errors:
            raise SlackError("invalid_arguments", response_metadata={"messages": errors})
        view_id = view_id or random_id("V")
        full = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self._views[view_id] = full
        return full

    def api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        return {"view": self._make_view(params.get("view"))}

    def api_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.api_views_open(params)

    def api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            ext = params["external_id"]
            view_id = next((v["id"] for v in self._views.values() if v["external_id"] == ext), None)
        old = self._views.get(str(view_id or ""))
        if old is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        new = self._make_view(params.get("view"), old["id"])
        new["root_view_id"] = old["root_view_id"]
        return {"view": new}

    def api_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if user_id not in self._users:
            raise SlackError("user_not_found")
        old = self.home_views.get(user_id)
        if old and params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        view = self._make_view(params.get("view"), old["id"] if old else None)
        self.home_views[user_id] = view
        return {"view": view}
