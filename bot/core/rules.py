"""Per-example checks for each dataset format. Pure functions: example in, problems out.

Each check returns the error kinds found (each kind once per example), the warning kinds, the
token parts of the example, and the text of its target reply (for the diversity check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from bot.core.tokens import (
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    Parts,
    function_definitions,
    message_parts,
)

CHAT = "chat"
CHAT_TOOLS = "chat_tools"
PROMPT_COMPLETION = "prompt_completion"
DPO = "dpo"
FORMATS = (CHAT, CHAT_TOOLS, PROMPT_COMPLETION, DPO)

CHAT_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
_PLAIN_ROLES = frozenset({"system", "user", "assistant"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "function_call", "tool_call_id"}
)
CHAT_EXAMPLE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
DPO_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
DPO_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
PC_KEYS = frozenset({"prompt", "completion"})


@dataclass(slots=True)
class Checked:
    """What one example contributed: problems, token parts and its target reply."""

    errors: set[str] = field(default_factory=set)
    warnings: set[str] = field(default_factory=set)
    parts: Parts | None = None
    functions: list[dict[str, Any]] = field(default_factory=list)
    reply: str | bytes | None = None
    uses_tools: bool = False


def shape_of(example: Any) -> str | None:
    """The format an example is written in, or None when it matches none."""
    if not isinstance(example, dict):
        return None
    if "messages" in example:
        return CHAT
    if not DPO_KEYS.isdisjoint(example):
        return DPO
    if not PC_KEYS.isdisjoint(example):
        return PROMPT_COMPLETION
    return None


def check(example: dict[str, Any], file_format: str) -> Checked:
    """Check a JSON object as an example of the file's format."""
    if file_format == DPO:
        return check_dpo(example)
    if file_format == PROMPT_COMPLETION:
        return check_prompt_completion(example)
    return check_chat(example)


def check_chat(example: dict[str, Any]) -> Checked:
    """Supervised chat example: messages, optional tools/functions."""
    out = Checked()
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        out.errors.add("missing_messages")
        return out
    out.parts = Parts(REPLY_PRIMING, [])
    roles = _check_messages(messages, out, out.parts)
    if "assistant" not in roles:
        out.errors.add("missing_assistant_message")
    if len(example) > 1 and any(key not in CHAT_EXAMPLE_KEYS for key in example):
        out.errors.add("unrecognized_key")
    _check_definitions(example, out)
    _add_chat_warnings(roles, out)
    out.functions = function_definitions(example)
    out.uses_tools = out.uses_tools or bool(out.functions)
    out.reply = _last_reply(messages)
    return out


def check_dpo(example: dict[str, Any]) -> Checked:
    """Preference pair: input conversation plus one preferred and one non-preferred reply."""
    out = Checked()
    out.parts = Parts(REPLY_PRIMING, [], estimated=True)
    source = example.get("input")
    messages = source.get("messages") if isinstance(source, dict) else None
    if not isinstance(source, dict) or not isinstance(messages, list) or not messages:
        out.errors.add("missing_messages")
    else:
        roles = _check_messages(messages, out, out.parts)
        _add_chat_warnings(roles, out)
        if any(key not in DPO_INPUT_KEYS for key in source):
            out.errors.add("unrecognized_key")
        _check_definitions(source, out)
        out.functions = function_definitions(source)
    if any(key not in DPO_KEYS for key in example):
        out.errors.add("unrecognized_key")
    for key in ("preferred_output", "non_preferred_output"):
        reply = example.get(key)
        if reply is None:
            out.errors.add(f"missing_{key}")
        elif not _valid_output(reply):
            out.errors.add("invalid_output")
        if isinstance(reply, list):
            message_parts(reply, out.parts)
    preferred = example.get("preferred_output")
    if isinstance(preferred, list):
        out.reply = _last_reply(preferred)
    return out


def check_prompt_completion(example: dict[str, Any]) -> Checked:
    """Legacy prompt–completion example (babbage-002 / davinci-002)."""
    out = Checked()
    texts: list[str] = []
    for key in ("prompt", "completion"):
        if key not in example:
            out.errors.add(f"missing_{key}")
        elif not isinstance(example[key], str):
            out.errors.add("invalid_content_type")
        else:
            texts.append(example[key])
    if any(key not in PC_KEYS for key in example):
        out.errors.add("unrecognized_key")
    out.parts = Parts(0, texts)
    completion = example.get("completion")
    if isinstance(completion, str):
        out.reply = _normalise(completion)
    return out


def _check_messages(messages: list[Any], out: Checked, parts: Parts) -> set[str]:
    """Check each message and add its token parts; return the roles seen."""
    roles: set[str] = set()
    errors = out.errors
    texts = parts.texts
    for message in messages:
        if type(message) is not dict:
            parts.base += TOKENS_PER_MESSAGE
            errors.add("not_an_object")
            continue
        role = message.get("role")
        content = message.get("content")
        # The common case, {"role": <known role>, "content": "<text>"}, checked in one go.
        if (
            len(message) == 2
            and type(content) is str
            and content
            and type(role) is str
            and role in _PLAIN_ROLES
        ):
            roles.add(role)
            parts.base += TOKENS_PER_MESSAGE
            texts.append(role)
            texts.append(content)
            continue
        message_parts((message,), parts)
        if "role" not in message:
            errors.add("missing_role")
        elif not isinstance(role, str) or role not in CHAT_ROLES:
            errors.add("unrecognized_role")
        else:
            roles.add(role)
        for key in message:
            if key not in MESSAGE_KEYS:
                errors.add("unrecognized_key")
        calls = role == "assistant" and bool(
            message.get("tool_calls") or message.get("function_call")
        )
        if calls or role in ("tool", "function"):
            out.uses_tools = True
        _check_content(message.get("content"), role, calls, errors)
        if "weight" in message:
            weight = message["weight"]
            if (
                role != "assistant"
                or isinstance(weight, bool)
                or not isinstance(weight, int | float)
                or weight not in (0, 1)
            ):
                errors.add("invalid_weight")
        if "tool_calls" in message:
            _check_calls(message["tool_calls"], errors)
        if "function_call" in message:
            _check_call(message["function_call"], errors)
    return roles


def _check_content(content: Any, role: Any, calls: bool, errors: set[str]) -> None:
    if content is None or content == "" or content == []:
        if not calls:
            errors.add("missing_content")
        return
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        errors.add("invalid_content_type")
        return
    for part in content:
        if not isinstance(part, dict):
            errors.add("invalid_content_type")
        elif part.get("type") == "text":
            if not isinstance(part.get("text"), str):
                errors.add("invalid_content_type")
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            if (
                role != "user"
                or not isinstance(image, dict)
                or not isinstance(image.get("url"), str)
            ):
                errors.add("invalid_content_type")
        else:
            errors.add("invalid_content_type")


def _check_calls(calls: Any, errors: set[str]) -> None:
    if not isinstance(calls, list):
        errors.add("invalid_tool_calls")
        return
    for call in calls:
        if not isinstance(call, dict):
            errors.add("invalid_tool_calls")
            continue
        _check_call(call.get("function"), errors)


def _check_call(function: Any, errors: set[str]) -> None:
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        errors.add("invalid_tool_calls")
        return
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        errors.add("invalid_arguments")
        return
    try:
        orjson.loads(arguments)
    except orjson.JSONDecodeError:
        errors.add("invalid_arguments")


def _check_definitions(example: dict[str, Any], out: Checked) -> None:
    for key, holder in (("tools", "function"), ("functions", None)):
        if key not in example:
            continue
        defs = example[key]
        if not isinstance(defs, list):
            out.errors.add("invalid_tools")
            continue
        for item in defs:
            function = item.get(holder) if holder and isinstance(item, dict) else item
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                out.errors.add("invalid_tools")


def _add_chat_warnings(roles: set[str], out: Checked) -> None:
    if "system" not in roles:
        out.warnings.add("missing_system_message")
    if "user" not in roles:
        out.warnings.add("missing_user_message")


def _valid_output(reply: Any) -> bool:
    return (
        isinstance(reply, list)
        and len(reply) == 1
        and isinstance(reply[0], dict)
        and reply[0].get("role") == "assistant"
        and isinstance(reply[0].get("content"), str)
    )


def _last_reply(messages: list[Any]) -> str | bytes | None:
    """The last assistant message's text (normalised) or tool calls, for diversity counting."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content")
            if isinstance(content, str) and content:
                return _normalise(content)
            calls = message.get("tool_calls") or message.get("function_call")
            try:
                return orjson.dumps([content, calls], option=orjson.OPT_SORT_KEYS)
            except (TypeError, orjson.JSONEncodeError):
                return None
    return None


def _normalise(text: str) -> str:
    return text.strip()
