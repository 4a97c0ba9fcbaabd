"""Uploading a dataset once per content and creating a job once, whatever replicas and
retries do."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

from bot.core.jobs import JobSnapshot, ServiceError
from bot.services.ports import Clock, FileSource, FineTuningBackend
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord, DatasetRepository

UPLOAD_WAIT_S = 120.0
CREATE_ATTEMPTS = 3


def ensure_uploaded(
    dataset: DatasetRecord,
    *,
    datasets: DatasetRepository,
    files: FileSource,
    gateway: FineTuningBackend,
    clock: Clock,
) -> str:
    """The dataset's remote file id, uploading it unless the same content already was."""
    now = clock.now()
    if dataset.openai_file_id and dataset.openai_file_id.startswith("file-"):
        return dataset.openai_file_id
    if dataset.sha256:
        earlier = datasets.uploaded_with_sha(sha256=dataset.sha256)
        if earlier:
            datasets.set_openai_file(dataset_id=dataset.id, openai_file_id=earlier, now=now)
            return earlier
    token = f"uploading:{uuid.uuid4().hex}"
    if not datasets.claim_upload(dataset_id=dataset.id, token=token, now=now):
        return _wait_for_upload(datasets, dataset.id)
    try:
        remote = files.info(dataset.slack_file_id, dataset.channel_id)
        with tempfile.TemporaryDirectory(prefix="ftbot-up-") as tmp:
            path = Path(tmp) / Path(dataset.name).name
            files.download(remote, path, max_bytes=max(remote.size, 1) * 2)
            file_id = gateway.upload(path, name=dataset.name)
    except BaseException:
        datasets.set_openai_file(dataset_id=dataset.id, openai_file_id=None, now=now)
        raise
    datasets.set_openai_file(dataset_id=dataset.id, openai_file_id=file_id, now=clock.now())
    return file_id


def _wait_for_upload(datasets: DatasetRepository, dataset_id: int) -> str:
    deadline = time.monotonic() + UPLOAD_WAIT_S
    while time.monotonic() < deadline:
        record = datasets.by_id(dataset_id)
        if record and record.openai_file_id and record.openai_file_id.startswith("file-"):
            return record.openai_file_id
        if record and record.openai_file_id is None:
            raise ServiceError("unavailable", "the upload of this dataset failed")
        time.sleep(0.2)
    raise ServiceError("unavailable", "the upload of this dataset is taking too long")


def create_once(
    gateway: FineTuningBackend,
    *,
    job: JobRecord,
    dataset: DatasetRecord,
    training: str,
    validation: str | None,
) -> JobSnapshot:
    """Create the job on the backend once: after an ambiguous failure, look before re-sending."""
    hyper = job.hyperparameters or {}
    params = {
        "model": job.model,
        "training_file": training,
        "validation_file": validation,
        "method": {"type": job.method, job.method: {"hyperparameters": hyper}},
        "suffix": job.suffix,
        "seed": job.seed,
    }
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
