"""Reading an OpenAI-shaped chat completion (OpenAI's and Together's SDKs answer alike)."""

from __future__ import annotations

from typing import Any


def answer_and_usage(response: Any) -> tuple[str, int, int]:
    """(answer, prompt tokens, completion tokens) of a chat completion; empty when it has none."""
    choice = response.choices[0].message if response.choices else None
    usage = response.usage
    return (
        (choice.content or "") if choice else "",
        usage.prompt_tokens if usage else 0,
        usage.completion_tokens if usage else 0,
    )
