"""Block Kit checks the fake Slack applies, with Slack's documented limits.

Errors are returned the way Slack words them in ``response_metadata.messages``:
``"[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000

_TEXT_LIMITS = {"section": 3000, "header": 150, "input": 2000}
_KNOWN_BLOCKS = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
    "table",
}


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _check_text(obj: Any, pointer: str, limit: int, errors: list[str], plain: bool = False) -> None:
    if not isinstance(obj, dict):
        errors.append(_err("must provide an object", pointer))
        return
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn") or (plain and kind != "plain_text"):
        errors.append(_err("must be a valid enum value", f"{pointer}/type"))
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(_err("must be more than 0 characters", f"{pointer}/text"))
    elif len(text) > limit:
        errors.append(_err(f"must be less than {limit + 1} characters", f"{pointer}/text"))


def _check_element(el: Any, pointer: str, errors: list[str], action_ids: set[str]) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errors.append(_err("must provide an object with a type", pointer))
        return
    action_id = el.get("action_id")
    if isinstance(action_id, str):
        if len(action_id) > 255:
            errors.append(_err("must be less than 256 characters", f"{pointer}/action_id"))
        if action_id in action_ids:
            errors.append(_err("action_id already exists", f"{pointer}/action_id"))
        action_ids.add(action_id)
    if el["type"] == "button":
        _check_text(el.get("text"), f"{pointer}/text", 75, errors, plain=True)
        value = el.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(_err("must be less than 2001 characters", f"{pointer}/value"))
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(_err("must be a valid enum value", f"{pointer}/style"))
    elif el["type"] in ("static_select", "radio_buttons"):
        _check_choices(el, pointer, errors)
    elif el["type"] == "number_input":
        _check_number(el, pointer, errors)
    elif el["type"] == "plain_text_input":
        if "placeholder" in el:
            _check_text(el["placeholder"], f"{pointer}/placeholder", 150, errors, plain=True)
        initial = el.get("initial_value")
        if initial is not None and (not isinstance(initial, str) or len(initial) > 3000):
            errors.append(_err("must be less than 3001 characters", f"{pointer}/initial_value"))


def _number(text: Any, decimal: bool) -> float | None:
    """A number input's value as Slack reads it (a string), or None when it isn't one."""
    if not isinstance(text, str):
        return None
    try:
        value = float(text) if decimal else int(text)
    except ValueError:
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _check_number(el: dict[str, Any], pointer: str, errors: list[str]) -> None:
    """A number input: `is_decimal_allowed` (a boolean) is required; `min_value`, `max_value`
    and `initial_value` are strings holding numbers (whole ones unless decimals are allowed),
    min no greater than max, the initial value between them."""
    decimal = el.get("is_decimal_allowed")
    if not isinstance(decimal, bool):
        errors.append(_err("must provide a boolean", f"{pointer}/is_decimal_allowed"))
        return
    numbers: dict[str, float] = {}
    for key in ("min_value", "max_value", "initial_value"):
        if key in el and el[key] is not None:
            value = _number(el[key], decimal)
            if value is None:
                errors.append(_err("must be a valid number string", f"{pointer}/{key}"))
            else:
                numbers[key] = value
    low, high = numbers.get("min_value"), numbers.get("max_value")
    if low is not None and high is not None and low > high:
        errors.append(_err("min_value must be less than max_value", f"{pointer}/min_value"))
    initial = numbers.get("initial_value")
    if initial is not None and (
        (low is not None and initial < low) or (high is not None and initial > high)
    ):
        errors.append(_err("must be between min_value and max_value", f"{pointer}/initial_value"))
    if "placeholder" in el:
        _check_text(el["placeholder"], f"{pointer}/placeholder", 150, errors, plain=True)


def _check_choices(el: dict[str, Any], pointer: str, errors: list[str]) -> None:
    """A select's or radio group's options (Slack: 1 to 100 for a select, 10 for radios; text up
    to 75, value up to 150) and an initial option that must be one of them, text and value."""
    options = el.get("options")
    cap = 100 if el["type"] == "static_select" else 10
    if not isinstance(options, list) or not 1 <= len(options) <= cap:
        errors.append(_err(f"must provide 1 to {cap} items", f"{pointer}/options"))
        return
    for j, option in enumerate(options):
        if not isinstance(option, dict):
            errors.append(_err("must provide an object", f"{pointer}/options/{j}"))
            continue
        _check_text(option.get("text"), f"{pointer}/options/{j}/text", 75, errors)
        value = option.get("value")
        if not isinstance(value, str) or not 0 < len(value) <= 150:
            errors.append(_err("must be 1 to 150 characters", f"{pointer}/options/{j}/value"))
    initial = el.get("initial_option")
    if initial is not None and initial not in options:
        errors.append(_err("must match one of the options", f"{pointer}/initial_option"))


def check_blocks(
    blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS, root: str = "/blocks"
) -> list[str]:
    """Validate a ``blocks`` array; returns Slack-style error strings (empty when valid)."""
    if not isinstance(blocks, list):
        return [_err("must provide an array", root)]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(_err(f"must provide no more than {limit} items", root))
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        ptr = f"{root}/{i}"
        if not isinstance(block, dict) or block.get("type") not in _KNOWN_BLOCKS:
            errors.append(_err("must provide a valid block type", ptr))
            continue
        kind = block["type"]
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > 255 or block_id in block_ids:
                errors.append(_err("duplicate or invalid block_id", f"{ptr}/block_id"))
            block_ids.add(block_id)
        if kind == "header":
            _check_text(block.get("text"), f"{ptr}/text", 150, errors, plain=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(_err("must provide either text or fields", ptr))
            if "text" in block:
                _check_text(block["text"], f"{ptr}/text", 3000, errors)
            fields = block.get("fields", [])
            if len(fields) > 10:
                errors.append(_err("must provide no more than 10 items", f"{ptr}/fields"))
            for j, fld in enumerate(fields):
                _check_text(fld, f"{ptr}/fields/{j}", 2000, errors)
            if "accessory" in block:
                _check_element(block["accessory"], f"{ptr}/accessory", errors, set())
        elif kind in ("context", "actions"):
            elements = block.get("elements")
            cap = 10 if kind == "context" else 25
            if not isinstance(elements, list) or not elements or len(elements) > cap:
                errors.append(_err(f"must provide 1 to {cap} items", f"{ptr}/elements"))
                continue
            action_ids: set[str] = set()
            for j, el in enumerate(elements):
                if kind == "context":
                    if not isinstance(el, dict) or el.get("type") not in (
                        "plain_text",
                        "mrkdwn",
                        "image",
                    ):
                        errors.append(
                            _err("must be a text or image element", f"{ptr}/elements/{j}")
                        )
                    elif el["type"] != "image":
                        _check_text(el, f"{ptr}/elements/{j}", 3000, errors)
                else:
                    _check_element(el, f"{ptr}/elements/{j}", errors, action_ids)
        elif kind == "input":
            _check_text(block.get("label"), f"{ptr}/label", 2000, errors, plain=True)
            _check_element(block.get("element"), f"{ptr}/element", errors, set())
    return errors


def check_view(view: Any) -> list[str]:
    """Validate a modal or home view object."""
    if not isinstance(view, dict):
        return [_err("must provide an object", "/view")]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append(_err("must be a valid enum value", "/view/type"))
    if kind == "modal":
        _check_text(view.get("title"), "/view/title", 24, errors, plain=True)
        for key in ("submit", "close"):
            if key in view and view[key] is not None:
                _check_text(view[key], f"/view/{key}", 24, errors, plain=True)
    if len(view.get("private_metadata") or "") > 3000:
        errors.append(_err("must be less than 3001 characters", "/view/private_metadata"))
    if len(view.get("callback_id") or "") > 255:
        errors.append(_err("must be less than 256 characters", "/view/callback_id"))
    errors.extend(check_blocks(view.get("blocks", []), limit=MAX_VIEW_BLOCKS, root="/view/blocks"))
    return errors


def check_metadata(metadata: Any) -> bool:
    """Message metadata must be ``{"event_type": str, "event_payload": dict}``."""
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )
