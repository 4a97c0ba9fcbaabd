"""Uploading a dataset once per content and creating a job once, whatever replicas and
retries do."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot.core.backend_names import backend_name
from bot.core.jobs import JobSnapshot, ServiceError
from bot.core.message import Code, Mention, Message, say
from bot.services.ports import Clock, FileSource, FineTuningBackend
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

UPLOAD_WAIT_S = 120.0
UPLOAD_LEASE = dt.timedelta(minutes=10)  # an older claim is a crashed uploader's: taken over
CREATE_ATTEMPTS = 3


def ensure_uploaded(
    dataset: DatasetRecord,
    *,
    backend: str,
    datasets: DatasetRepository,
    files: FileSource,
    gateway: FineTuningBackend,
    clock: Clock,
) -> str:
    """The dataset's file id on `backend`, uploading it unless the same content already was there
    (a file id is never offered to another backend)."""
    uploaded = datasets.uploaded_file(dataset_id=dataset.id, backend=backend)
    if uploaded:
        return uploaded
    if dataset.sha256:
        earlier = datasets.uploaded_with_sha(sha256=dataset.sha256, backend=backend)
        if earlier:
            return datasets.finish_upload(
                dataset_id=dataset.id, backend=backend, file_id=earlier, now=clock.now()
            )
    token = uuid.uuid4().hex
    if not datasets.claim_upload(
        dataset_id=dataset.id, backend=backend, token=token, now=clock.now(), lease=UPLOAD_LEASE
    ):
        return wait_for_upload(datasets, dataset_id=dataset.id, backend=backend)
    try:
        remote = files.info(dataset.slack_file_id, dataset.channel_id)
        with tempfile.TemporaryDirectory(prefix="ftbot-up-") as tmp:
            path = Path(tmp) / Path(dataset.name).name
            files.download(remote, path, max_bytes=max(remote.size, 1) * 2)
            file_id = gateway.upload(path, name=dataset.name)
    except BaseException:
        datasets.release_upload(
            dataset_id=dataset.id, backend=backend, token=token, now=clock.now()
        )
        raise
    return datasets.finish_upload(
        dataset_id=dataset.id, backend=backend, file_id=file_id, now=clock.now()
    )


def wait_for_upload(
    datasets: DatasetRepository,
    *,
    dataset_id: int,
    backend: str,
    timeout_s: float = UPLOAD_WAIT_S,
) -> str:
    """The file id another uploader records; ServiceError if it gives up or takes too long."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = datasets.upload_state(dataset_id=dataset_id, backend=backend)
        if state is not None and state.file_id:
            return state.file_id
        if state is None or not state.claimed:  # released: that upload failed
            raise ServiceError("unavailable", "the upload of this dataset failed")
        if time.monotonic() >= deadline:
            raise ServiceError("unavailable", "the upload of this dataset is taking too long")
        time.sleep(0.2)


def create_once(
    gateway: FineTuningBackend,
    *,
    job: JobRecord,
    dataset: DatasetRecord,
    training: str,
    validation: str | None,
) -> JobSnapshot:
    """Create the job on the backend once: after an ambiguous failure, look before re-sending."""
    hyper = dict(job.hyperparameters or {})
    training_type = hyper.pop("training_type", None)  # LoRA/full: a job option, not a rate
    params: dict[str, Any] = {
        "model": job.model,
        "training_file": training,
        "validation_file": validation,
        "method": {"type": job.method, job.method: {"hyperparameters": hyper}},
        "suffix": job.suffix,
        "seed": job.seed,
    }
    if training_type is not None:
        params["training_type"] = training_type
    metadata = {
        "slack_user": job.owner_id,
        "slack_channel": job.channel_id,
        "dataset": dataset.slack_file_id,
        "ftbot_request": job.request_key[:512],
    }
    for attempt in range(CREATE_ATTEMPTS):
        try:
            return gateway.create_job(metadata=metadata, **params)
        except ServiceError as error:
            if not error.retryable:
                raise
            # The request may have reached the backend before failing: look before re-sending.
            found = gateway.find_job(key="ftbot_request", value=metadata["ftbot_request"])
            if found:
                return found
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


@runtime_checkable
class PriceQuoter(Protocol):
    """A backend that quotes a job's price itself (Together's estimate-price)."""

    def estimate_price(
        self,
        *,
        training_file: str,
        model: str,
        n_epochs: int | None = None,
        validation_file: str | None = None,
        method: str = "supervised",
        training_type: str = "lora",
    ) -> tuple[float, int]: ...


def quote(
    gateway: FineTuningBackend, *, job: JobRecord, training: str, validation: str | None
) -> tuple[float, int] | None:
    """The backend's own price for the job as it will be created, (USD, tokens); None when the
    backend does not quote or gave no quote (the job goes on: the cost is then unknown)."""
    if not isinstance(gateway, PriceQuoter):
        return None
    hyper = job.hyperparameters or {}
    epochs = hyper.get("n_epochs")
    try:
        return gateway.estimate_price(
            training_file=training,
            model=job.model,
            n_epochs=int(epochs) if epochs else None,
            validation_file=validation,
            method=job.method,
            training_type=str(hyper.get("training_type") or "lora"),
        )
    except ServiceError as error:
        log.warning("no quote for %s: %s", job.request_key, error)
        return None


def uploaded_text(actor: str, dataset: DatasetRecord, backend: str, file_id: str) -> Message:
    """What the *Upload only* button posts in the dataset's thread once the file is there."""
    return say(
        Mention(actor),
        " uploaded ",
        Code(dataset.name),
        f" to {backend_name(backend)}: ",
        Code(file_id),
        " (purpose `fine-tune`). ",
        Code(f"/finetune start {file_id}" + (" backend=together" if backend == "together" else "")),
        " trains on it.",
    )
