"""Together's shapes: OpenAI-shaped job requests mapped to Together's, Together's jobs as
JobSnapshots, and datasets normalised the way Together's upload reads them (pure but for files).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from bot.backends.together_events import epoch
from bot.core.backend_names import BACKEND_NAMES, TOGETHER
from bot.core.jobs import TERMINAL, JobSnapshot, ServiceError

# Together's job statuses -> the watcher's vocabulary (bot/core/jobs.py STATUS_TEXT, TERMINAL).
STATUS = {
    "pending": "queued",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "running",
    "completed": "succeeded",
    "error": "failed",
    "user_error": "failed",
    "cancelled": "cancelled",
}
CARRIED_KEY = "ftbot_request"  # the one metadata key Together can carry (in the suffix)
KEY_TAG = "ftb"
SUFFIX_MAX = 40
METHODS = {"supervised": "sft", "dpo": "dpo"}
TRAINING_TYPES = {"lora": True, "full": False}  # the value of the SDK's `lora`
OPTIONS = frozenset(
    {
        "model",
        "training_file",
        "validation_file",
        "method",
        "suffix",
        "seed",
        "training_type",
        "hyperparameters",
    }
)
HYPERPARAMETERS = {
    "n_epochs": "n_epochs",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",  # absolute, Together's default 1e-5
    "n_checkpoints": "n_checkpoints",
    "n_evals": "n_evals",
}
DPO_HYPERPARAMETERS = {"beta": "dpo_beta"}
REFUSED = {
    "learning_rate_multiplier": (
        "Together AI takes an absolute learning_rate, not OpenAI's learning_rate_multiplier"
    ),
}
DEFAULT_EVALS = 5  # Together evaluates a validation file only when n_evals > 0 (default 0)
BOM = b"\xef\xbb\xbf"
MAX_STATUSES = 10_000
NANODOLLARS = 1_000_000_000  # Together's prices (a job's total_price) are in nano-dollars


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (answers are read defensively)."""
    return value if isinstance(value, dict) else {}


def refuse(name: str, reason: str) -> ServiceError:
    return ServiceError("invalid_request", reason, param=name)


def key_tag(value: str) -> str:
    """The request key as a few hex digits that fit in a suffix (`ftb` + 10 hex)."""
    return KEY_TAG + hashlib.sha256(value.encode()).hexdigest()[:10]


def carried_suffix(user: str | None, key: str | None) -> str | None:
    """The user's suffix with the request key's tag after it, within Together's 40 characters."""
    if not key:
        return user
    tag = key_tag(key)
    if not user:
        return tag
    room = SUFFIX_MAX - len(tag) - 1
    return f"{user[:room].rstrip('-')}-{tag}"


def job_request(params: Mapping[str, Any], *, key: str | None) -> dict[str, Any]:
    """Keyword arguments of the SDK's `fine_tuning.create` from OpenAI-shaped params.

    Options Together lacks are refused by name: nothing is dropped silently."""
    given = {name: value for name, value in params.items() if value is not None}
    for name in given:
        if name not in OPTIONS:
            raise refuse(name, f"Together AI has no option {name}")
    for name in ("model", "training_file"):
        if not given.get(name):
            raise refuse(name, f"{name} is required")
    method = as_dict(given.get("method")) or {"type": "supervised"}
    kind = str(method.get("type") or "supervised")
    if kind not in METHODS:
        raise refuse("method", f"Together AI cannot train with the {kind} method")
    training_type = str(given.get("training_type", "lora")).lower()
    if training_type not in TRAINING_TYPES:
        raise refuse("training_type", f"Together AI has no {training_type} training type")
    request: dict[str, Any] = {
        "model": given["model"],
        "training_file": given["training_file"],
        "training_method": METHODS[kind],
        "lora": TRAINING_TYPES[training_type],
    }
    if kind == "supervised":
        request["train_on_inputs"] = "auto"
    section = as_dict(method.get(kind))
    hyper = {**as_dict(given.get("hyperparameters")), **as_dict(section.get("hyperparameters"))}
    allowed = HYPERPARAMETERS | (DPO_HYPERPARAMETERS if kind == "dpo" else {})
    for name, value in hyper.items():
        if value is None or value == "auto":
            continue
        if name in REFUSED:
            raise refuse(name, REFUSED[name])
        if name not in allowed:
            raise refuse(name, f"Together AI has no hyperparameter {name} for {kind} training")
        request[allowed[name]] = value
    if given.get("validation_file"):
        request["validation_file"] = given["validation_file"]
        request.setdefault("n_evals", DEFAULT_EVALS)
    if "seed" in given:
        request["random_seed"] = given["seed"]
    suffix = carried_suffix(given.get("suffix"), key)
    if suffix:
        request["suffix"] = suffix
    return request


def used_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """The settings Together reports for a job, in the names the bot's requests use."""
    used: dict[str, Any] = {}
    for name in ("n_epochs", "batch_size", "learning_rate"):
        value = data.get(name)
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            used[name] = value
    method = as_dict(data.get("training_method"))
    beta = method.get("dpo_beta")
    if isinstance(beta, int | float) and not isinstance(beta, bool):
        used["beta"] = beta
    kind = str(as_dict(data.get("training_type")).get("type") or "").lower()
    if kind in TRAINING_TYPES:
        used["training_type"] = kind
    return used


def snapshot_of(data: Mapping[str, Any], *, now: float) -> JobSnapshot:
    """A JobSnapshot from Together's job object (statuses normalised, no metadata)."""
    raw = str(data.get("status") or "unknown")
    status = STATUS.get(raw, raw)
    progress = as_dict(data.get("progress"))
    remaining = progress.get("seconds_remaining") if progress.get("estimate_available") else None
    estimated = None
    if status == "running" and isinstance(remaining, int | float) and remaining > 0:
        estimated = int(now + remaining)
    error_message = None
    if status == "failed":
        events = [e for e in data.get("events") or [] if isinstance(e, dict)]
        errors = [e for e in events if e.get("type") == "job_error" or e.get("level") == "error"]
        error_message = str(errors[-1].get("message")) if errors else f"the job ended ({raw})"
    seed = data.get("random_seed")
    output = data.get("model_output_name") or data.get("output_name")
    tokens = data.get("token_count")
    price = data.get("total_price")  # 0 until Together has priced the job: unknown, not free
    billed = (
        price / NANODOLLARS
        if isinstance(price, int | float) and not isinstance(price, bool) and price > 0
        else None
    )
    return JobSnapshot(
        id=str(data.get("id") or ""),
        status=status,
        model=str(data.get("model") or ""),
        created_at=epoch(data.get("created_at")),
        finished_at=epoch(data.get("updated_at")) if status in TERMINAL else None,
        estimated_finish=estimated,
        fine_tuned_model=str(output) if status == "succeeded" and output else None,
        trained_tokens=tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None,
        training_file=data.get("training_file") or None,
        validation_file=data.get("validation_file") or None,
        error_code=raw if status == "failed" else None,
        error_message=error_message,
        billed_usd=billed,
        hyperparameters=used_settings(data),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )


def jsonl_name(name: str) -> str:
    """The uploaded copy's name: the dataset's, with a `.jsonl` extension."""
    base = Path(name).name
    if Path(base).suffix.lower() in (".json", ".jsonl", ".txt"):
        base = Path(base).stem
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:100]
    return f"{base or 'dataset'}.jsonl"


def _first_byte(handle: IO[bytes]) -> bytes:
    start = handle.tell()
    try:
        while chunk := handle.read(64 * 1024):
            if stripped := chunk.lstrip():
                return stripped[:1]
        return b""
    finally:
        handle.seek(start)


def normalised_copy(source: Path, dest: Path) -> Path:
    """Write `source` to `dest` as Together reads it: no BOM, JSONL (a JSON array is split into
    lines), no blank lines, `\\n` line ends."""
    with source.open("rb") as handle, dest.open("wb") as out:
        if handle.read(len(BOM)) != BOM:
            handle.seek(0)
        if _first_byte(handle) == b"[":
            try:
                records = json.load(io.TextIOWrapper(handle, encoding="utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ServiceError(
                    "invalid_request", "the file is not valid JSON", backend=BACKEND_NAMES[TOGETHER]
                ) from None
            if not isinstance(records, list):
                raise ServiceError(
                    "invalid_request",
                    "the file is not a JSON array",
                    backend=BACKEND_NAMES[TOGETHER],
                )
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        else:
            for line in handle:
                line = line.rstrip(b"\r\n")
                if line.strip():
                    out.write(line + b"\n")
    return dest
