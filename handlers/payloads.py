"""Typed readers of Slack request bodies: a signed body of the wrong shape is refused (4xx)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from bot.core.datasets import deeper_than

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
    return body


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
