"""Typed readers of Slack request bodies: the envelope, and the values the bot put in its buttons
and forms. A signed body of the wrong shape is refused (4xx); a click or form carrying a value
the bot cannot have made (an old message, a hand-made request) raises StaleButton, which the
error handler answers with one ephemeral line.
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import parse_qsl

from slack_sdk import WebClient

from bot.core.datasets import deeper_than

STALE = "That button is no longer valid."
MAX_VALUE = 2000  # Slack's limit on a button's value
MAX_DEPTH = 64  # Slack's own payloads nest about 15 levels (rich text in a message event)

_OBJECTS = ("team", "user", "channel", "container", "message", "view", "event", "enterprise")
_INTERACTIVE = {
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "interactive_message",
    "dialog_submission",
}


class StaleButton(Exception):
    """A button value or form metadata the bot did not make."""


class MalformedBody(ValueError):
    """A signed request body that is not a Slack request; the message is a short reason."""


def parse_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """The body as Bolt will see it, read strictly; raises MalformedBody."""
    is_json = (content_type or "").split(";")[0].strip() == "application/json"
    if not raw:
        raise MalformedBody("empty")
    if is_json or raw.startswith("{"):
        body = _json(raw)
    else:
        try:
            form = dict(parse_qsl(raw, keep_blank_values=True, errors="strict"))
        except (UnicodeDecodeError, ValueError):
            raise MalformedBody("bad_form") from None
        body = _json(form["payload"]) if "payload" in form else form
    problem = _problem(body)
    if problem:
        raise MalformedBody(problem)
    return cast(dict[str, Any], body)  # _problem checked it is an object


def _json(text: str) -> Any:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedBody("bad_json") from None
    if deeper_than(value, MAX_DEPTH):
        raise MalformedBody("too_deep")
    return value


def _problem(body: Any) -> str | None:
    """Why `body` cannot be a Slack request (the fields Bolt and the listeners rely on)."""
    if not isinstance(body, dict):
        return "not_an_object"
    kind = body.get("type")
    if kind is None and "command" in body:  # a slash command (a flat form)
        return None if isinstance(body["command"], str) and body["command"] else "bad_command"
    if kind is None and "ssl_check" in body:
        return None
    if not isinstance(kind, str) or not kind:
        return "no_type"
    for key in _OBJECTS:
        if body.get(key) is not None and not isinstance(body[key], dict | str):
            return f"bad_{key}"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "bad_authorizations"
    user = body.get("user")
    if kind in _INTERACTIVE and not (isinstance(user, dict) and isinstance(user.get("id"), str)):
        return "no_user"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "no_actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "bad_actions"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return "bad_view"
        if not isinstance(view.get("private_metadata", ""), str):
            return "bad_private_metadata"
        state = view.get("state", {"values": {}})
        values = state.get("values") if isinstance(state, dict) else None
        if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(e, dict) for e in block.values())
            for block in values.values()
        ):
            return "bad_view_state"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "bad_event"
    return None


def button_value(body: dict[str, Any]) -> str:
    """The clicked button's value, as the bot set it (non-empty text)."""
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE:
        raise StaleButton("no value")
    return value


def json_button(body: dict[str, Any], **shape: type) -> dict[str, Any]:
    """The clicked button's value, a JSON object with these keys of these types."""
    return _object(button_value(body), shape)


def view_metadata(view: dict[str, Any], **shape: type) -> dict[str, Any]:
    """A submitted form's private_metadata, a JSON object with these keys of these types."""
    return _object(view.get("private_metadata"), shape)


def _object(text: Any, shape: dict[str, type]) -> dict[str, Any]:
    """`text` decoded as a JSON object of `shape` (whole numbers are never negative here)."""
    if not isinstance(text, str) or len(text) > MAX_VALUE:
        raise StaleButton("not text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise StaleButton("not JSON") from None
    if not isinstance(value, dict):
        raise StaleButton("not an object")
    for key, kind in shape.items():
        item = value.get(key)
        if not isinstance(item, kind) or isinstance(item, bool):
            raise StaleButton(f"{key} is not {kind.__name__}")
        if isinstance(item, int) and item < 0:
            raise StaleButton(f"{key} is negative")
    return value


def tell_clicker(client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral line for the user who clicked, in the conversation of the click (if any)."""
    channel = _field(body, "channel", "id") or _field(body, "container", "channel_id")
    user = _field(body, "user", "id")
    if channel and user:
        client.chat_postEphemeral(channel=channel, user=user, text=text)


def _field(body: dict[str, Any], key: str, name: str) -> str | None:
    holder = body.get(key)
    value = holder.get(name) if isinstance(holder, dict) else None
    return value if isinstance(value, str) else None


def selected_json(body: dict[str, Any], **shape: type) -> dict[str, Any]:
    """The chosen option of an overflow menu or select, a JSON object of `shape`."""
    actions = body.get("actions") or [{}]
    chosen = actions[0].get("selected_option") if isinstance(actions[0], dict) else None
    value = chosen.get("value") if isinstance(chosen, dict) else None
    return _object(value, shape)
