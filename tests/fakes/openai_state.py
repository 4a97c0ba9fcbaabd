"""In-memory state of :class:`tests.fakes.fake_openai.FakeOpenAI` and its simulation controls.

Every stored object is the exact JSON dict the fake returns, so a test may mutate it (drop a
field, set an unknown ``status``) to exercise the bot's tolerance.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ORG_ID = "org-test"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_FINE_TUNABLE = frozenset(
    {
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-2024-08-06",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
    }
)
RESULT_CSV_HEADER = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
_RESOLVED = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8, "beta": 0.1}

ChatResponder = Callable[[dict[str, Any]], "dict[str, Any] | str"]


def new_id(prefix: str, n: int = 24) -> str:
    """OpenAI-like ids: ``file-…``, ``ftjob-…``, ``ftevent-…``, ``ftckpt_…``."""
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def now() -> int:
    """Unix seconds."""
    return int(time.time())


@dataclass
class StoredFile:
    """A file held by the fake: the API object plus its bytes."""

    obj: dict[str, Any]
    content: bytes

    @property
    def id(self) -> str:
        """The ``file-…`` id."""
        return str(self.obj["id"])


@dataclass
class _JobExtra:
    short_id: str
    seq: int
    metrics: list[dict[str, Any]] = field(default_factory=list)


def default_chat_responder(request: dict[str, Any]) -> str:
    """Echo the last user message: ``"echo: <text>"``."""
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return f"echo: {content}"
    return "echo: "


class OpenAIState:
    """Files, uploads, jobs, events, checkpoints and models, plus simulation helpers."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.files: dict[str, StoredFile] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.upload_parts: dict[str, tuple[str, bytes]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.checkpoints: dict[str, list[dict[str, Any]]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.deleted_models: set[str] = set()
        self.fine_tunable_models: set[str] = set(DEFAULT_FINE_TUNABLE)
        self.training_not_available = False
        self.result_file_base64 = False
        self.azure = False  # Azure OpenAI's shapes (see FakeOpenAI(azure=True))
        self.chat_responder: ChatResponder = default_chat_responder
        # /v1/moderations: text containing a marker is flagged with its categories.
        self.moderation_markers: dict[str, tuple[str, ...]] = {
            "FLAG-VIOLENCE": ("violence",),
            "FLAG-HATE": ("hate", "harassment"),
        }
        self._job_extra: dict[str, _JobExtra] = {}
        self._seq = 0
        for model in (*sorted(DEFAULT_FINE_TUNABLE), "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"):
            self.add_model(model, owned_by="system")

    # -- objects -------------------------------------------------------------------------
    def add_model(self, model_id: str, *, owned_by: str = ORG_ID) -> dict[str, Any]:
        """Register a model for ``/v1/models`` and chat completions."""
        obj = {"id": model_id, "object": "model", "created": now(), "owned_by": owned_by}
        with self.lock:
            self.models[model_id] = obj
            self.deleted_models.discard(model_id)
        return obj

    def add_file(
        self, content: bytes, filename: str = "train.jsonl", purpose: str = "fine-tune"
    ) -> dict[str, Any]:
        """Store a file as if uploaded; returns its FileObject."""
        obj = {
            "object": "file",
            "id": new_id("file-", 22),
            "purpose": purpose,
            "filename": filename,
            "bytes": len(content),
            "created_at": now(),
            "expires_at": None,
            "status": "processed",
            "status_details": None,
        }
        with self.lock:
            self.files[obj["id"]] = StoredFile(obj, content)
        return obj

    def model_exists(self, model: str) -> bool:
        """True for live models and for checkpoint snapshot names."""
        with self.lock:
            if model in self.models and model not in self.deleted_models:
                return True
            return any(
                c["fine_tuned_model_checkpoint"] == model
                for ckpts in self.checkpoints.values()
                for c in ckpts
            )

    def new_job(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a job object from a validated ``POST /fine_tuning/jobs`` body."""
        method = dict(body.get("method") or {"type": "supervised"})
        kind = method.get("type", "supervised")
        given = dict((method.get(kind) or {}).get("hyperparameters") or {})
        given = given or dict(body.get("hyperparameters") or {})
        keys = ["batch_size", "learning_rate_multiplier", "n_epochs"]
        keys += ["beta"] if kind == "dpo" else []
        hp = {k: given.get(k, "auto") for k in keys}
        job_id = new_id("ftjob-")
        job = {
            "object": "fine_tuning.job",
            "id": job_id,
            "model": body["model"],
            "created_at": now(),
            "finished_at": None,
            "fine_tuned_model": None,
            "organization_id": ORG_ID,
            "result_files": [],
            "status": "validating_files",
            "validation_file": body.get("validation_file"),
            "training_file": body["training_file"],
            "hyperparameters": dict(hp) if kind == "supervised" else None,
            "method": {"type": kind, kind: {**(method.get(kind) or {}), "hyperparameters": hp}},
            "trained_tokens": None,
            "error": {"code": None, "message": None, "param": None},
            "seed": body.get("seed") if body.get("seed") is not None else secrets.randbelow(2**31),
            "estimated_finish": None,
            "integrations": body.get("integrations") or [],
            "metadata": body.get("metadata"),
            "user_provided_suffix": body.get("suffix"),
            **({"suffix": body.get("suffix")} if self.azure else {}),
            "usage_metrics": None,
            "shared_with_openai": False,
        }
        with self.lock:
            self._seq += 1
            self._job_extra[job_id] = _JobExtra(new_id("", 8), self._seq)
            self.jobs[job_id] = job
            self.events[job_id] = []
            self.checkpoints[job_id] = []
            self.add_event(job_id, f"Created fine-tuning job: {job_id}")
            validating = f"Validating training file: {job['training_file']}"
            if job["validation_file"]:
                validating += f" and validation file: {job['validation_file']}"
            self.add_event(job_id, validating)
        return job

    def jobs_newest_first(self) -> list[dict[str, Any]]:
        """All jobs, newest first (ties broken by creation order)."""
        with self.lock:
            order = sorted(self.jobs, key=lambda j: self._job_extra[j].seq, reverse=True)
            return [self.jobs[j] for j in order]

    def fine_tuned_name(self, job_id: str) -> str:
        """``ft:<model>:org-test:<suffix>:<shortid>`` for a job."""
        job = self.jobs[job_id]
        suffix = job.get("user_provided_suffix") or ""
        if self.azure:  # Azure's shape: <base>.ft-<32 hex>[-<suffix>]
            name = f"{job['model']}.ft-{self._job_extra[job_id].short_id:0>32}"
            return f"{name}-{suffix}" if suffix else name
        return f"ft:{job['model']}:{ORG_ID}:{suffix}:{self._job_extra[job_id].short_id}"

    # -- simulation ----------------------------------------------------------------------
    def _job(self, job_id: str) -> dict[str, Any]:
        if job_id not in self.jobs:
            raise KeyError(f"unknown job {job_id}")
        return self.jobs[job_id]

    def add_event(
        self,
        job_id: str,
        message: str,
        *,
        level: str = "info",
        type: str = "message",
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append a job event (listed newest first by the API)."""
        event = {
            "object": "fine_tuning.job.event",
            "id": new_id("ftevent-"),
            "created_at": now(),
            "level": level,
            "message": message,
            "data": data if data is not None else {},
            "type": type,
        }
        with self.lock:
            self._job(job_id)
            self.events[job_id].append(event)
        return event

    def add_metrics(
        self,
        job_id: str,
        step: int,
        total_steps: int,
        train_loss: float,
        train_acc: float | None = None,
        valid_loss: float | None = None,
        valid_acc: float | None = None,
        *,
        full_valid_loss: float | None = None,
        full_valid_acc: float | None = None,
    ) -> dict[str, Any]:
        """Add a ``type: "metrics"`` event like ``"Step 3/20: training loss=0.52"``."""
        data = {
            "step": step,
            "train_loss": train_loss,
            "valid_loss": valid_loss,
            "total_steps": total_steps,
            "full_valid_loss": full_valid_loss,
            "train_mean_token_accuracy": train_acc,
            "valid_mean_token_accuracy": valid_acc,
            "full_valid_mean_token_accuracy": full_valid_acc,
        }
        message = f"Step {step}/{total_steps}: training loss={train_loss:.2f}"
        if valid_loss is not None:
            message += f", validation loss={valid_loss:.2f}"
        if full_valid_loss is not None:
            message += f", full validation loss={full_valid_loss:.2f}"
        with self.lock:
            self._job_extra[self._job(job_id)["id"]].metrics.append(data)
            return self.add_event(job_id, message, type="metrics", data=data)

    def add_checkpoint(
        self, job_id: str, step: int, metrics: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """Add a checkpoint (listed newest first) and its "Checkpoint created" event."""
        with self.lock:
            self._job(job_id)
            last = (self._job_extra[job_id].metrics or [{}])[-1]
            default = {
                "step": float(step),
                "train_loss": last.get("train_loss"),
                "train_mean_token_accuracy": last.get("train_mean_token_accuracy"),
                "valid_loss": last.get("valid_loss"),
                "valid_mean_token_accuracy": last.get("valid_mean_token_accuracy"),
                "full_valid_loss": last.get("full_valid_loss"),
                "full_valid_mean_token_accuracy": last.get("full_valid_mean_token_accuracy"),
            }
            name = f"{self.fine_tuned_name(job_id)}:ckpt-step-{step}"
            ckpt = {
                "object": "fine_tuning.job.checkpoint",
                "id": new_id("ftckpt_"),
                "created_at": now(),
                "fine_tuned_model_checkpoint": name,
                "fine_tuning_job_id": job_id,
                "metrics": {**default, **(metrics or {})},
                "step_number": step,
            }
            self.checkpoints[job_id].append(ckpt)
            self.add_event(job_id, f"Checkpoint created at step {step} with Snapshot ID: {name}")
            return ckpt

    def _resolve_hyperparameters(self, job: dict[str, Any]) -> None:
        method = job.get("method") or {}
        section = method.get(method.get("type", "")) or {}
        for hp in (job.get("hyperparameters"), section.get("hyperparameters")):
            if isinstance(hp, dict):
                for key, value in hp.items():
                    if value == "auto":
                        hp[key] = _RESOLVED[key]

    def set_status(self, job_id: str, status: str) -> dict[str, Any]:
        """Set ``status`` verbatim (any string); terminal statuses get ``finished_at``."""
        with self.lock:
            job = self._job(job_id)
            job["status"] = status
            if status in TERMINAL:
                job["finished_at"] = job["finished_at"] or now()
                job["estimated_finish"] = None
            return job

    def advance_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        step: int | None = None,
        total_steps: int | None = None,
        train_loss: float | None = None,
        train_acc: float | None = None,
        valid_loss: float | None = None,
        valid_acc: float | None = None,
        estimated_finish: int | None = None,
    ) -> dict[str, Any]:
        """Move a job along as the real service would, adding the usual events.

        ``status="queued"`` adds "Files validated, moving job to queued state";
        ``"running"`` adds "Fine-tuning job started", resolves "auto" hyperparameters and sets
        ``estimated_finish``; ``"succeeded"``/``"failed"`` delegate to :meth:`succeed` /
        :meth:`fail`. With ``step`` a metrics event is added as well.
        """
        with self.lock:
            job = self._job(job_id)
            if status == "succeeded":
                self.succeed(job_id, trained_tokens=job.get("trained_tokens") or 1000)
            elif status == "failed":
                self.fail(job_id, "server_error", "The job failed due to an internal error.")
            elif status is not None:
                self.set_status(job_id, status)
                if status == "queued":
                    self.add_event(job_id, "Files validated, moving job to queued state")
                elif status == "running":
                    self._resolve_hyperparameters(job)
                    job["estimated_finish"] = estimated_finish or now() + 600
                    self.add_event(job_id, "Fine-tuning job started")
            if estimated_finish is not None and job["status"] not in TERMINAL:
                job["estimated_finish"] = estimated_finish
            if step is not None:
                self.add_metrics(
                    job_id,
                    step,
                    total_steps or step,
                    train_loss if train_loss is not None else 1.0,
                    train_acc,
                    valid_loss,
                    valid_acc,
                )
            return job

    def succeed(
        self,
        job_id: str,
        *,
        trained_tokens: int,
        fine_tuned_model: str | None = None,
        result_csv: str | None = None,
    ) -> dict[str, Any]:
        """Finish a job successfully: result file, model, and the two closing events."""
        with self.lock:
            job = self._job(job_id)
            self._resolve_hyperparameters(job)
            model = fine_tuned_model or self.fine_tuned_name(job_id)
            if result_csv is None:
                rows = self._job_extra[job_id].metrics or [
                    {"step": i, "train_loss": 1.5 / i, "train_mean_token_accuracy": 0.5 + i / 10}
                    for i in (1, 2, 3)
                ]
                lines = [RESULT_CSV_HEADER]
                for r in rows:
                    cells = [
                        r.get("step"),
                        r.get("train_loss"),
                        r.get("train_mean_token_accuracy") or 0.0,
                        r.get("valid_loss"),
                        r.get("valid_mean_token_accuracy"),
                    ]
                    lines.append(",".join("" if c is None else str(c) for c in cells))
                result_csv = "\n".join(lines) + "\n"
            result = self.add_file(result_csv.encode(), "step_metrics.csv", "fine-tune-results")
            job.update(
                fine_tuned_model=model,
                trained_tokens=trained_tokens,
                result_files=[result["id"]],
            )
            self.set_status(job_id, "succeeded")
            self.add_model(model)
            self.add_event(job_id, f"New fine-tuned model created: {model}")
            self.add_event(job_id, "The job has successfully completed")
            return job

    def fail(
        self, job_id: str, code: str, message: str, param: str | None = None
    ) -> dict[str, Any]:
        """Fail a job with ``error = {code, message, param}`` and an error-level event."""
        with self.lock:
            job = self._job(job_id)
            job["error"] = {"code": code, "message": message, "param": param}
            self.set_status(job_id, "failed")
            self.add_event(job_id, message, level="error")
            return job
