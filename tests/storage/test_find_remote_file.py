"""`find` by a remote file id: any backend's upload names its dataset (Together's ids are
`file-<uuid>`, OpenAI's `file-<base62>`), and a dataset called `file-…` is still found by name."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from storage.repositories import DatasetRepository

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
TOGETHER_FILE = "file-6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
OPENAI_FILE = "file-AbC123xyz"


def reported(repo: DatasetRepository, slack_file_id: str, name: str, *, channel: str) -> int:
    """A checked and reported dataset called `name` in `channel`; its id."""
    repo.claim(
        slack_file_id=slack_file_id, channel_id=channel, uploader_id="U1", thread_ts=None,
        now=NOW, lease=LEASE,
    )  # fmt: skip
    repo.describe(slack_file_id=slack_file_id, name=name, size_bytes=10, thread_ts=None, now=NOW)
    repo.store_report(
        slack_file_id=slack_file_id, sha256="cd" * 32, format="chat", examples=1,
        total_tokens=5, valid=True, report={}, now=NOW,
    )  # fmt: skip
    repo.mark_reported(slack_file_id=slack_file_id, report_ts="1.1", now=NOW)
    record = repo.get(slack_file_id=slack_file_id)
    assert record is not None
    return record.id


def upload(repo: DatasetRepository, dataset_id: int, backend: str, file_id: str) -> None:
    assert repo.claim_upload(
        dataset_id=dataset_id, backend=backend, token="t", now=NOW, lease=LEASE
    )
    assert (
        repo.finish_upload(dataset_id=dataset_id, backend=backend, file_id=file_id, now=NOW)
        == file_id
    )


def ids(repo: DatasetRepository, reference: str, channel: str = "C1") -> list[int]:
    return [d.id for d in repo.find(reference=reference, channel_id=channel)]


@pytest.mark.db
def test_a_remote_file_id_on_any_backend_finds_its_dataset(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    on_together = reported(repo, "F1", "sports.jsonl", channel="C1")
    on_openai = reported(repo, "F2", "chess.jsonl", channel="C2")
    upload(repo, on_together, "together", TOGETHER_FILE)
    upload(repo, on_openai, "openai", OPENAI_FILE)
    assert ids(repo, TOGETHER_FILE) == [on_together]
    # the id names the dataset wherever it was asked (the caller keeps what the user may see)
    assert ids(repo, OPENAI_FILE, channel="C1") == [on_openai]
    assert ids(repo, TOGETHER_FILE.upper()) == []  # ids are exact
    assert ids(repo, "file-" + "0" * 36) == []  # no such upload


@pytest.mark.db
def test_a_dataset_named_like_a_file_id_is_found_by_its_name(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    named = reported(repo, "F1", "file-archive.jsonl", channel="C1")
    uploaded = reported(repo, "F2", "other.jsonl", channel="C1")
    upload(repo, uploaded, "together", "file-archive.jsonl")  # an upload id wins over a name
    assert ids(repo, "file-archive.jsonl") == [uploaded]
    assert ids(repo, "file-notes") == []
    renamed = reported(repo, "F3", "file-notes", channel="C1")
    assert ids(repo, "file-notes") == [renamed]
    assert ids(repo, "file-notes", channel="C2") == []  # a name counts in its channel only
    assert named != uploaded


@pytest.mark.db
def test_a_dataset_is_found_once_its_report_is_stored_not_only_once_marked_reported(
    engine: Engine,
) -> None:
    """The report is posted between storing it and marking the dataset reported: a user who
    reads it and answers at once must find the dataset (the race a test once lost)."""
    repo = DatasetRepository(engine=engine)
    repo.claim(
        slack_file_id="FNEW", channel_id="C1", uploader_id="U1", thread_ts=None, now=NOW,
        lease=LEASE,
    )  # fmt: skip
    repo.describe(slack_file_id="FNEW", name="new.jsonl", size_bytes=10, thread_ts=None, now=NOW)
    assert ids(repo, "FNEW") == [] and ids(repo, "new.jsonl") == []  # still being checked
    repo.store_report(
        slack_file_id="FNEW", sha256="ef" * 32, format="chat", examples=1, total_tokens=5,
        valid=False, report={"valid": False}, now=NOW,
    )  # fmt: skip
    record = repo.get(slack_file_id="FNEW")
    assert record is not None
    assert ids(repo, "FNEW") == [record.id] and ids(repo, "new.jsonl") == [record.id]
    assert ids(repo, "latest") == []  # not valid: `latest` means a dataset ready to train
    repo.mark_failed(slack_file_id="FNEW", error="gone", now=NOW)
    assert ids(repo, "FNEW") == []
