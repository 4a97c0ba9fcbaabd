"""In-memory state of :class:`tests.fakes.fake_together.FakeTogether` and its simulation controls.

Stored objects are the exact JSON dicts the fake returns (Together's shapes as the ``together``
SDK v3 parses them), so a test may mutate one to exercise the bot's tolerance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.together_data import (
    ACCOUNT,
    CHAT_ONLY_MODELS,
    DEFAULT_MODELS,
    USER_ID,
    ChatResponder,
    FileValidator,
    default_chat_responder,
    default_validator,
    iso,
    model_limits,
)


@dataclass
class StoredFile:
    """A file held by the fake: its API object, its bytes and its preprocessing script."""

    obj: dict[str, Any]
    content: bytes = b""
    uploaded: bool = False
    pending_polls: int = 0  # retrieves that still answer RUNNING after preprocessing started
    rejection: str | None = None

    @property
    def id(self) -> str:
        """The ``file-…`` id."""
        return str(self.obj["id"])


@dataclass
class _JobExtra:
    seq: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    cancel_pending: bool = False


class TogetherState:
    """Files, fine-tune jobs, events, metrics, checkpoints and chat, plus simulation helpers."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.supported_models: set[str] = set(DEFAULT_MODELS)
        self.chat_models: set[str] = set(DEFAULT_MODELS) | set(CHAT_ONLY_MODELS)
        self.chat_responder: ChatResponder = default_chat_responder
        self.chat_script: list[dict[str, Any] | str] = []
        self.file_validator: FileValidator = default_validator
        self.preprocess_polls = 0  # how many retrieves a new file stays RUNNING
        self.dedupe_uploads = False  # answer 409 + file_id for a checksum seen before
        self.allowed_to_proceed = True
        self._rejections: list[str] = []
        self._extra: dict[str, _JobExtra] = {}
        self._seq = 0

    # -- files ---------------------------------------------------------------------------
    def reject_next_file(self, reason: str) -> None:
        """Make the next uploaded file fail preprocessing with ``reason``."""
        with self.lock:
            self._rejections.append(reason)

    def new_file(self, *, name: str, purpose: str, file_type: str, checksum: str) -> StoredFile:
        """A file announced by ``POST /v1/files``; its bytes come with the presigned PUT."""
        obj = {
            "id": f"file-{uuid.uuid4()}",
            "object": "file",
            "filename": name,
            "purpose": purpose,
            "FileType": file_type,
            "bytes": 0,
            "created_at": int(dt.datetime.now(dt.UTC).timestamp()),
            "processing_status": "PENDING",
            "checksum": checksum,
        }
        stored = StoredFile(obj)
        with self.lock:
            if self._rejections:
                stored.rejection = self._rejections.pop(0)
            self.files[stored.id] = stored
        return stored

    def add_file(self, content: bytes, name: str = "train.jsonl") -> StoredFile:
        """A file already uploaded and validated (for tests that start at job creation)."""
        digest = hashlib.sha256(content).hexdigest()
        stored = self.new_file(name=name, purpose="fine-tune", file_type="jsonl", checksum=digest)
        stored.content, stored.uploaded = content, True
        self.finish_preprocessing(stored)
        return stored

    def finish_preprocessing(self, stored: StoredFile) -> None:
        """Run the validator (or the scripted rejection) and record the report."""
        reason = stored.rejection or self.file_validator(stored.content)
        lines = sum(1 for line in stored.content.split(b"\n") if line.strip())
        report: dict[str, Any] = {"valid": reason is None, "file_id": stored.id, "nlines": lines}
        if reason is None:
            report["dataset_format"] = "CONVERSATION"
        else:
            report.update(error=reason, error_type="INVALID_FORMAT")
        stored.obj["processing_status"] = "COMPLETED" if reason is None else "INVALID_FORMAT"
        stored.obj["validation_report"] = report

    def public_file(self, stored: StoredFile) -> dict[str, Any]:
        """The file object as the API answers it (the checksum is internal)."""
        return {k: v for k, v in stored.obj.items() if k != "checksum"}

    # -- jobs ----------------------------------------------------------------------------
    def _job(self, job_id: str) -> dict[str, Any]:
        if job_id not in self.jobs:
            raise KeyError(f"unknown job {job_id}")
        return self.jobs[job_id]

    def new_job(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a job from a validated ``POST /v1/fine-tunes`` body."""
        job_id = f"ft-{uuid.uuid4()}"
        suffix = body.get("suffix") or None
        base = str(body["model"]).split("/")[-1]
        output = f"{ACCOUNT}/{base}{'-' + suffix if suffix else ''}-{job_id[3:11]}"
        now = iso()
        training_file = self.files[body["training_file"]]
        training_type = body.get("training_type") or {
            "type": "Lora",
            "lora_r": 64,
            "lora_alpha": 128,
        }
        lora = training_type.get("type") == "Lora"
        batch_size = body.get("batch_size", "max")
        if batch_size == "max":  # Together answers with the batch size it resolved
            limits = model_limits(str(body["model"]))
            batch_size = limits["lora_training" if lora else "full_training"]["max_batch_size"]
        job = {
            "id": job_id,
            "status": "pending",
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "user_id": USER_ID,
            "owner_address": "fake@example.com",
            "model": body["model"],
            "model_output_name": output,
            "adapter_output_name": f"{output}-adapter" if lora else None,
            "suffix": suffix,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file") or None,
            "n_epochs": body.get("n_epochs", 1),
            "n_checkpoints": body.get("n_checkpoints", 1),
            "n_evals": body.get("n_evals", 0),
            "batch_size": batch_size,
            "learning_rate": body.get("learning_rate", 1e-5),
            "random_seed": body.get("random_seed"),
            "training_method": body.get("training_method") or {"method": "sft"},
            "training_type": training_type,
            "lr_scheduler": body.get("lr_scheduler"),
            "warmup_ratio": body.get("warmup_ratio", 0.0),
            "max_grad_norm": body.get("max_grad_norm", 1.0),
            "weight_decay": body.get("weight_decay", 0.0),
            "train_on_inputs": (body.get("training_method") or {}).get("train_on_inputs", "auto"),
            "token_count": len(training_file.content) // 4,
            "param_count": 8_030_000_000,
            "total_price": 0,
            "trainingfile_numlines": training_file.obj.get("validation_report", {}).get("nlines"),
            "trainingfile_size": len(training_file.content),
            "epochs_completed": 0,
            "queue_depth": 0,
            "events": [],
            "wandb_project_name": None,
        }
        with self.lock:
            self._seq += 1
            self._extra[job_id] = _JobExtra(self._seq)
            self.jobs[job_id] = job
            self.add_event(job_id, "job_pending", "Fine tune request created")
        return job

    def jobs_newest_first(self) -> list[dict[str, Any]]:
        """All jobs, newest first."""
        with self.lock:
            order = sorted(self.jobs, key=lambda j: self._extra[j].seq, reverse=True)
            return [self.jobs[j] for j in order]

    def truncated(self, job: dict[str, Any]) -> dict[str, Any]:
        """The list/cancel/create shape (``FinetuneResponseTruncated``: no events)."""
        return {k: v for k, v in job.items() if k != "events"}

    def metrics_of(self, job_id: str) -> list[dict[str, Any]]:
        """The job's metrics rows in chronological order."""
        with self.lock:
            return list(self._extra[self._job(job_id)["id"]].metrics)

    def checkpoints_of(self, job_id: str) -> list[dict[str, Any]]:
        """The job's checkpoints, newest first."""
        with self.lock:
            return list(reversed(self._extra[self._job(job_id)["id"]].checkpoints))

    # -- simulation ----------------------------------------------------------------------
    def add_event(
        self, job_id: str, type: str, message: str, *, level: str = "info", **fields: Any
    ) -> dict[str, Any]:
        """Append an event (``GET …/events`` lists them oldest first)."""
        event = {
            "object": "fine-tune-event",
            "created_at": iso(),
            "level": level,
            "message": message,
            "type": type,
            "param_count": 0,
            "token_count": 0,
            "total_steps": 0,
            "wandb_url": "",
            "step": 0,
            "checkpoint_path": "",
            "model_path": "",
            "training_offset": 0,
            "hash": "",
            **fields,
        }
        with self.lock:
            job = self._job(job_id)
            job["events"].append(event)
            job["updated_at"] = event["created_at"]
        return event

    def set_status(self, job_id: str, status: str) -> dict[str, Any]:
        """Set ``status`` verbatim (any string)."""
        with self.lock:
            job = self._job(job_id)
            job["status"] = status
            job["updated_at"] = iso()
            return job

    def advance(
        self,
        job_id: str,
        *,
        status: str | None = None,
        step: int | None = None,
        total_steps: int | None = None,
        train_loss: float | None = None,
        valid_loss: float | None = None,
        checkpoint: bool = False,
        seconds_remaining: int | None = None,
    ) -> dict[str, Any]:
        """Move a job along as Together would, with the usual events.

        ``status="queued"`` adds a ``job_pending`` event; ``"running"`` adds ``job_start``
        and ``training_start`` (with ``total_steps``); ``"completed"``/``"error"``/
        ``"user_error"`` delegate to :meth:`complete` / :meth:`fail`. ``step`` adds a metrics
        row (and an eval row with ``valid_loss``); ``checkpoint`` saves one at that step.
        """
        with self.lock:
            job = self._job(job_id)
            if status == "completed":
                return self.complete(job_id)
            if status in ("error", "user_error"):
                return self.fail(job_id, "Training failed", user_error=status == "user_error")
            if status is not None:
                self.set_status(job_id, status)
                if status == "queued":
                    self.add_event(job_id, "job_pending", "Job is queued")
                elif status == "running":
                    job["started_at"] = iso()
                    self.add_event(job_id, "job_start", "Job started")
                    self.add_event(
                        job_id,
                        "training_start",
                        "Training started",
                        total_steps=total_steps or 0,
                        param_count=job["param_count"],
                        token_count=job["token_count"],
                    )
            if seconds_remaining is not None:
                job["progress"] = {
                    "estimate_available": True,
                    "seconds_remaining": seconds_remaining,
                }
            if step is not None:
                self.add_metrics(job_id, step, train_loss if train_loss is not None else 1.0)
                if valid_loss is not None:
                    self.add_eval(job_id, step, valid_loss)
                if checkpoint:
                    self.add_checkpoint(job_id, step)
            return job

    def add_metrics(
        self, job_id: str, step: int, train_loss: float, learning_rate: float = 1e-5
    ) -> dict[str, Any]:
        """A training row: ``train/loss``, ``train/learning_rate``, ``train/global_step``."""
        row = {"train/loss": train_loss, "train/learning_rate": learning_rate}
        row["train/global_step"] = step
        with self.lock:
            self._extra[self._job(job_id)["id"]].metrics.append(row)
        return row

    def add_eval(self, job_id: str, step: int, valid_loss: float) -> dict[str, Any]:
        """An evaluation row (a separate object): ``eval/loss`` at ``train/global_step``."""
        row = {"eval/loss": valid_loss, "train/global_step": step}
        with self.lock:
            self._extra[self._job(job_id)["id"]].metrics.append(row)
        return row

    def add_checkpoint(self, job_id: str, step: int, *, final: bool = False) -> dict[str, Any]:
        """Save a checkpoint (and its ``checkpoint_save`` event)."""
        with self.lock:
            job = self._job(job_id)
            kind = "Final" if final else f"Intermediate (step {step})"
            path = f"s3://together-fake/finetune/{job_id}/checkpoints/{step}"
            checkpoint = {
                "checkpoint_type": kind,
                "created_at": iso(),
                "path": path,
                "step": step,
                "checkpoint": "adapter",
                "object_name": f"{ACCOUNT}/{job['model_output_name'].split('/')[-1]}-step-{step}",
            }
            self._extra[job_id].checkpoints.append(checkpoint)
            if not final:
                self.add_event(
                    job_id,
                    "checkpoint_save",
                    f"New checkpoint saved at step {step}",
                    step=step,
                    checkpoint_path=path,
                )
            return checkpoint

    def complete(self, job_id: str, *, token_count: int | None = None) -> dict[str, Any]:
        """Finish a job: compress, upload, the final checkpoint, ``completed``."""
        with self.lock:
            job = self._job(job_id)
            steps = [int(r["train/global_step"]) for r in self._extra[job_id].metrics]
            final_step = max(steps, default=1)
            self.add_event(job_id, "training_complete", "Training completed")
            self.set_status(job_id, "compressing")
            self.add_event(job_id, "model_compressing", "Compressing output model")
            self.set_status(job_id, "uploading")
            self.add_event(job_id, "model_uploading", "Uploading output model")
            self.add_checkpoint(job_id, final_step, final=True)
            if token_count is not None:
                job["token_count"] = token_count
            job["epochs_completed"] = job.get("n_epochs")
            job.pop("progress", None)
            self.set_status(job_id, "completed")
            self.chat_models.add(job["model_output_name"])
            self.add_event(
                job_id,
                "job_complete",
                f"Job finished. Model output: {job['model_output_name']}",
                model_path=f"s3://together-fake/finetune/{job_id}/final",
            )
            return job

    def fail(self, job_id: str, message: str, *, user_error: bool = False) -> dict[str, Any]:
        """End a job with ``error`` (or ``user_error``) and an error-level ``job_error`` event."""
        with self.lock:
            self.add_event(job_id, "job_error", message, level="error")
            return self.set_status(job_id, "user_error" if user_error else "error")

    def request_cancel(self, job_id: str) -> dict[str, Any]:
        """``cancel_requested`` now; ``cancelled`` from the next retrieve of the job."""
        with self.lock:
            self._extra[job_id].cancel_pending = True
            self.add_event(job_id, "cancel_requested", "Cancel requested")
            return self.set_status(job_id, "cancel_requested")

    def settle_cancel(self, job_id: str) -> None:
        """Finish a requested cancellation (called when the job is read again)."""
        with self.lock:
            extra = self._extra[job_id]
            if extra.cancel_pending:
                extra.cancel_pending = False
                self.set_status(job_id, "cancelled")
                self.add_event(job_id, "job_stopped", "Job was cancelled")
