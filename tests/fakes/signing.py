"""Signed Slack requests (v0 HMAC) for the bot's ``/slack/events`` endpoint.

Each builder returns ``(body_bytes, headers)``; send them with :func:`post`. Payload shapes
follow what Slack sends (Events API ``event_callback`` envelopes, slash-command forms and
``payload=<json>`` interaction forms).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

TEAM_DOMAIN = "fake-workspace"
VERIFICATION_TOKEN = "verification-token"  # legacy field; Bolt ignores it by default


def sign(
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers for ``body``: ``X-Slack-Request-Timestamp``, ``X-Slack-Signature``, Content-Type."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def new_ts() -> str:
    """A message ts for "now" (``"1700000000.123456"``)."""
    micro = time.time_ns() // 1000
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's (for fake Slack strictness use ``FakeSlack.new_trigger_id``)."""
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _form(
    fields: dict[str, Any], secret: str, timestamp: int | None
) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields).encode()
    return body, sign(body, secret, timestamp, content_type="application/x-www-form-urlencoded")


# -- Events API ----------------------------------------------------------------------------
def event_request(
    event: dict[str, Any],
    *,
    secret: str,
    team_id: str = "T1",
    api_app_id: str = "A1",
    event_id: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """An ``event_callback`` envelope around ``event`` (retry headers when given)."""
    event_ts = event.get("event_ts") or event.get("ts")
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(float(event_ts)) if event_ts else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "UBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }
    body = json.dumps(envelope).encode()
    headers = sign(body, secret, timestamp)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    elif retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return body, headers


def file_shared_event(
    file_id: str, channel_id: str = "C1", user_id: str = "U1", *, event_ts: str | None = None
) -> dict[str, Any]:
    """A ``file_shared`` event (only the file id; the app calls ``files.info``)."""
    return {
        "type": "file_shared",
        "channel_id": channel_id,
        "file_id": file_id,
        "user_id": user_id,
        "file": {"id": file_id},
        "event_ts": event_ts or new_ts(),
    }


def file_share_message_event(
    file: dict[str, Any],
    channel: str = "C1",
    user: str = "U1",
    ts: str | None = None,
    channel_type: str = "channel",
    *,
    text: str = "",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A ``message`` event with subtype ``file_share`` carrying ``files: [file]``."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "file_share",
        "text": text,
        "files": [file],
        "upload": False,
        "user": user,
        "display_as_bot": False,
        "ts": ts,
        "client_msg_id": secrets.token_hex(16),
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = "UBOT",
) -> dict[str, Any]:
    """An ``app_mention``; ``<@UBOT>`` is prefixed unless ``text`` already mentions the bot."""
    ts = ts or new_ts()
    mention = f"<@{bot_user_id}>"
    full = text if mention in text else f"{mention} {text}".rstrip()
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": full,
        "ts": ts,
        "client_msg_id": secrets.token_hex(16),
        "team": "T1",
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm_message_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "D1",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A plain ``message`` in the bot's DM (``channel_type: "im"``)."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": secrets.token_hex(16),
        "team": "T1",
        "channel": channel,
        "event_ts": ts,
        "channel_type": "im",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_home_opened_event(
    user: str = "U1", *, channel: str = "D1", tab: str = "home", view: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An ``app_home_opened`` event (``view`` is present once a home view was published)."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": new_ts(),
    }
    if view is not None:
        event["view"] = view
    return event


# -- slash commands and interactivity ------------------------------------------------------
def command_request(
    command: str = "/finetune",
    text: str = "",
    *,
    secret: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = "T1",
    trigger_id: str | None = None,
    response_url: str | None = None,
    timestamp: int | None = None,
    channel_name: str | None = None,
    user_name: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A form-encoded slash command, fields as Slack sends them."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or ("directmessage" if channel_id[:1] == "D" else "general"),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url
        or f"https://hooks.slack.com/commands/{team_id}/{secrets.randbelow(10**12)}/x",
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return _form(fields, secret, timestamp)


def _user(user_id: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def action_request(
    action_id: str,
    value: str,
    *,
    secret: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    message_ts: str | None = None,
    thread_ts: str | None = None,
    trigger_id: str | None = None,
    block_id: str | None = None,
    response_url: str | None = None,
    view: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    team_id: str = "T1",
    timestamp: int | None = None,
    overflow: bool = False,
    ephemeral: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """A ``block_actions`` payload for a button click (in a message, or in ``view``); with
    ``overflow``, the choice of the option whose value is ``value`` in an overflow menu;
    ``ephemeral``: in a message only the clicker sees."""
    action_ts = new_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id or secrets.token_hex(3),
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    if overflow:  # Slack sends the chosen option, no value and no text of its own
        chosen = payload["actions"][0]
        del chosen["value"], chosen["text"]
        chosen["type"] = "overflow"
        chosen["selected_option"] = {
            "text": {"type": "plain_text", "text": "option", "emoji": True},
            "value": value,
        }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = view
    else:
        ts = message_ts or (message or {}).get("ts") or new_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        if thread_ts:
            payload["container"]["thread_ts"] = thread_ts
        payload["channel"] = {"id": channel_id, "name": "general"}
        msg = dict(message or {})
        msg.setdefault("type", "message")
        msg.setdefault("ts", ts)
        msg.setdefault("user", "UBOT")
        msg.setdefault("bot_id", "BBOT")
        msg.setdefault("text", "")
        if thread_ts:
            msg.setdefault("thread_ts", thread_ts)
        payload["message"] = msg
        payload["response_url"] = response_url or (
            f"https://hooks.slack.com/actions/{team_id}/{secrets.randbelow(10**12)}/x"
        )
    return _form({"payload": json.dumps(payload)}, secret, timestamp)


def input_action_request(
    view: dict[str, Any],
    action: dict[str, Any],
    *,
    state: dict[str, Any],
    secret: str,
    trigger_id: str | None = None,
    user_id: str = "U1",
    team_id: str = "T1",
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The ``block_actions`` Slack sends when a dispatching input of ``view`` (a modal or the
    Home tab) changes: ``action`` as Slack reports it, ``state`` the view's values then."""
    payload = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {**view, "state": {"values": state}},
        "actions": [{**action, "action_ts": new_ts()}],
    }
    return _form({"payload": json.dumps(payload)}, secret, timestamp)


def _state_values(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for block_id, actions in values.items():
        out[block_id] = {
            action_id: ({"type": "plain_text_input", "value": v} if isinstance(v, str) else v)
            for action_id, v in actions.items()
        }
    return out


def view_submission_request(
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    secret: str,
    user_id: str = "U1",
    private_metadata: str = "",
    view_id: str = "V1",
    trigger_id: str | None = None,
    team_id: str = "T1",
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A ``view_submission``; a plain string leaf in ``values`` becomes a plain_text_input."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": _state_values(values)},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "Finetune"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": "A1",
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form({"payload": json.dumps(payload)}, secret, timestamp)


# -- sending -------------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """POST without following redirects; returns ``(status, headers, body)`` for any status."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()
