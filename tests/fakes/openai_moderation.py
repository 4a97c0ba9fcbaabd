"""``POST /v1/moderations`` of the fake OpenAI, in the real shape (openai SDK ``Moderation``):
one result per input with every category's flag, score and applied input types. Text containing
a marker of ``markers`` is flagged with that marker's categories (score 0.9); the rest scores low.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.openai_routes import APIError

MODELS = frozenset(
    {
        "omni-moderation-latest",
        "omni-moderation-2024-09-26",
        "text-moderation-latest",
        "text-moderation-stable",
    }
)
CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def _texts(value: Any) -> list[str]:
    """The inputs as texts, checked the way the API checks them (400 otherwise)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise APIError(
            400, "Invalid value for 'input': expected a string or an array.", param="input"
        )
    texts: list[str] = []
    for item in value:
        if isinstance(item, str):
            texts.append(item)
        elif (
            isinstance(item, dict)
            and item.get("type") == "text"
            and isinstance(item.get("text"), str)
        ):
            texts.append(item["text"])
        elif isinstance(item, dict) and item.get("type") == "image_url":
            texts.append("")
        else:
            raise APIError(400, "Invalid value for 'input'.", param="input")
    return texts


def _result(text: str, markers: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    flagged = {c for marker, cats in markers.items() if marker in text for c in cats}
    return {
        "flagged": bool(flagged),
        "categories": {c: c in flagged for c in CATEGORIES},
        "category_scores": {c: 0.9 if c in flagged else 1e-05 for c in CATEGORIES},
        "category_applied_input_types": {c: ["text"] for c in CATEGORIES},
    }


def moderations(body: dict[str, Any], markers: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The answer to one ``POST /v1/moderations`` body."""
    model = body.get("model") or "omni-moderation-latest"
    if model not in MODELS:
        raise APIError(
            404, f"The model `{model}` does not exist.", param="model", code="model_not_found"
        )
    if "input" not in body:
        raise APIError(400, "Missing required parameter: 'input'.", param="input")
    return {
        "id": f"modr-{secrets.token_hex(12)}",
        "model": model,
        "results": [_result(text, markers) for text in _texts(body["input"])],
    }
