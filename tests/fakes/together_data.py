"""Together's constants and canned answers for :mod:`tests.fakes.fake_together` (its model
limits, its preprocessing check, an echoing chat model)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

USER_ID = "user_fake0123456789"
ACCOUNT = "fakeacct"
TERMINAL = frozenset({"completed", "cancelled", "error", "user_error"})
DEFAULT_MODELS = (
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
    "Qwen/Qwen2.5-7B-Instruct",
)
CHAT_ONLY_MODELS = ("meta-llama/Llama-3.3-70B-Instruct-Turbo",)
PRICE_PER_MILLION = 0.48  # USD per trained token, LoRA SFT up to 16B (Together's price list)

ChatResponder = Callable[[dict[str, Any]], "dict[str, Any] | str"]
FileValidator = Callable[[bytes], "str | None"]


def iso(moment: dt.datetime | None = None) -> str:
    """Together's timestamps: ISO 8601 with microseconds and a ``Z``."""
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def model_limits(model: str) -> dict[str, Any]:
    """``GET /v1/fine-tunes/models/limits`` for a supported model."""
    return {
        "model_name": model,
        "default_gradient_accumulation_steps": 1,
        "lora_training": {
            "default_rank": 64,
            "max_batch_size": 128,
            "max_batch_size_dpo": 64,
            "max_rank": 64,
            "min_batch_size": 8,
            "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
        },
        "full_training": {"max_batch_size": 96, "max_batch_size_dpo": 48, "min_batch_size": 8},
        "max_learning_rate": 1.0,
        "min_learning_rate": 1e-8,
        "max_num_checkpoints": 20,
        "max_num_epochs": 20,
        "max_num_evals": 100,
        "max_seq_length_sft": 131072,
        "max_seq_length_dpo": 65536,
        "min_max_seq_length": 1024,
        "merge_output_lora": True,
        "supports_full_training": True,
        "supports_reasoning": False,
        "supports_tools": True,
        "supports_vision": False,
    }


def default_validator(content: bytes) -> str | None:
    """What Together's preprocessing says about a file: None when it is valid JSONL."""
    if not content.strip():
        return "The file is empty"
    for number, line in enumerate(content.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return f"Line {number}: not valid JSON"
        if not isinstance(record, dict):
            return f"Line {number}: expected a JSON object"
    return None


def default_chat_responder(request: dict[str, Any]) -> str:
    """Echo the last user message: ``"echo: <text>"``."""
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            return f"echo: {message.get('content')}"
    return "echo: "
