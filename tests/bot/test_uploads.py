"""Uploading a dataset once: a waiter sees the other uploader's file id or its failure, a failed
upload can be retried, and a crashed uploader's claim is taken over after its lease."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.core.jobs import ServiceError
from bot.services.ports import RemoteFile
from bot.services.uploads import UPLOAD_LEASE, ensure_uploaded, wait_for_upload
from storage import migrate
from storage.db import make_engine
from storage.repositories import DatasetRepository, UploadState
from tests.db import fresh_database_url

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CONTENT = b'{"messages": []}\n'


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Files:
    """The chat's files: every dataset holds CONTENT."""

    def info(self, file_id: str, channel_id: str) -> RemoteFile:
        return RemoteFile(
            id=file_id, name="a.jsonl", size=len(CONTENT), filetype="jsonl", user_id="U1",
            download_url="http://127.0.0.1:9/never", thread_ts=None,
        )  # fmt: skip

    def download(
        self, file: RemoteFile, dest: Path, *, max_bytes: int, progress: object = None
    ) -> str:
        dest.write_bytes(CONTENT)
        return hashlib.sha256(CONTENT).hexdigest()


class Backend:
    """Stands in for the fine-tuning backend's file upload: may hold each upload, or fail it."""

    configured = True

    def __init__(self, prefix: str = "file-") -> None:
        self.prefix = prefix
        self.uploads: list[str] = []
        self.started = threading.Event()
        self.go = threading.Event()
        self.go.set()
        self.fail_with: ServiceError | None = None

    def upload(self, path: Path, *, name: str) -> str:
        self.started.set()
        assert self.go.wait(30), "the test never let the upload finish"
        if self.fail_with is not None:
            raise self.fail_with
        self.uploads.append(name)
        return f"{self.prefix}{len(self.uploads)}"


class WatchedRepository(DatasetRepository):
    """The real repository, telling the test when someone starts waiting on an upload."""

    def __init__(self, *, engine: Engine) -> None:
        super().__init__(engine=engine)
        self.waiting = threading.Event()

    def upload_state(self, *, dataset_id: int, backend: str) -> UploadState | None:
        self.waiting.set()
        return super().upload_state(dataset_id=dataset_id, backend=backend)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[WatchedRepository]:
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield WatchedRepository(engine=engine)
        engine.dispose()


def dataset_id(repo: DatasetRepository, file_id: str = "F1") -> int:
    repo.claim(
        slack_file_id=file_id, channel_id="C1", uploader_id="U1", thread_ts=None, now=NOW,
        lease=UPLOAD_LEASE,
    )  # fmt: skip
    repo.describe(slack_file_id=file_id, name="a.jsonl", size_bytes=1, thread_ts=None, now=NOW)
    repo.store_report(
        slack_file_id=file_id, sha256=hashlib.sha256(CONTENT).hexdigest(), format="chat",
        examples=1, total_tokens=1, valid=True, report={}, now=NOW,
    )  # fmt: skip
    repo.mark_reported(slack_file_id=file_id, report_ts="1.1", now=NOW)
    record = repo.get(slack_file_id=file_id)
    assert record is not None
    return record.id


def upload(
    repo: DatasetRepository, backend: Backend, one: int, *, to: str = "openai"
) -> Callable[[], str]:
    def run() -> str:
        record = repo.by_id(one)
        assert record is not None
        return ensure_uploaded(
            record,
            backend=to,
            datasets=repo,
            files=Files(),
            gateway=backend,  # type: ignore[arg-type]
            clock=Clock(),
        )

    return run


def first_holds_the_claim_second_waits(
    repo: WatchedRepository, backend: Backend, pool: ThreadPoolExecutor
) -> tuple[Future[str], Future[str]]:
    one = dataset_id(repo)
    backend.go.clear()
    first = pool.submit(upload(repo, backend, one))
    assert backend.started.wait(30)
    second = pool.submit(upload(repo, backend, one))
    assert repo.waiting.wait(30)  # the second found the claim held and waits on it
    return first, second


def test_a_waiter_gets_the_file_of_the_upload_in_flight(repo: WatchedRepository) -> None:
    backend = Backend()
    with ThreadPoolExecutor(2) as pool:
        first, second = first_holds_the_claim_second_waits(repo, backend, pool)
        backend.go.set()
        assert (first.result(30), second.result(30)) == ("file-1", "file-1")
    assert backend.uploads == ["a.jsonl"]


def test_a_waiter_sees_the_upload_fail_and_a_retry_uploads(repo: WatchedRepository) -> None:
    backend = Backend()
    backend.fail_with = ServiceError("unavailable", "OpenAI is down")
    with ThreadPoolExecutor(2) as pool:
        first, second = first_holds_the_claim_second_waits(repo, backend, pool)
        backend.go.set()
        with pytest.raises(ServiceError, match="OpenAI is down"):
            first.result(30)
        with pytest.raises(ServiceError, match="the upload of this dataset failed"):
            second.result(30)
    one = repo.get(slack_file_id="F1")
    assert one is not None
    state = repo.upload_state(dataset_id=one.id, backend="openai")
    assert state == UploadState(file_id=None, claimed=False)
    backend.fail_with = None
    assert upload(repo, backend, one.id)() == "file-1"
    assert backend.uploads == ["a.jsonl"]


def test_a_crashed_uploaders_claim_is_taken_over_after_the_lease(
    repo: WatchedRepository,
) -> None:
    one = dataset_id(repo)
    crashed_at = NOW - UPLOAD_LEASE - dt.timedelta(seconds=1)
    assert repo.claim_upload(
        dataset_id=one, backend="openai", token="crashed", now=crashed_at, lease=UPLOAD_LEASE
    )
    backend = Backend()
    assert upload(repo, backend, one)() == "file-1"
    assert backend.uploads == ["a.jsonl"]
    assert not repo.waiting.is_set()  # taken over, not waited on


def test_a_fresh_claim_is_waited_on_until_the_waiter_gives_up(repo: WatchedRepository) -> None:
    one = dataset_id(repo)
    assert repo.claim_upload(
        dataset_id=one, backend="openai", token="busy", now=NOW, lease=UPLOAD_LEASE
    )
    with pytest.raises(ServiceError, match="taking too long"):
        wait_for_upload(repo, dataset_id=one, backend="openai", timeout_s=0.3)
    state = repo.upload_state(dataset_id=one, backend="openai")
    assert state == UploadState(file_id=None, claimed=True)


def test_same_content_reuses_the_earlier_upload(repo: WatchedRepository) -> None:
    backend = Backend()
    one, two = dataset_id(repo, "F1"), dataset_id(repo, "F2")
    assert upload(repo, backend, one)() == "file-1"
    assert upload(repo, backend, two)() == "file-1"
    assert backend.uploads == ["a.jsonl"]
    state = repo.upload_state(dataset_id=two, backend="openai")
    assert state == UploadState(file_id="file-1", claimed=False)


def test_an_upload_to_one_backend_does_not_hold_up_another(repo: WatchedRepository) -> None:
    openai, together = Backend(), Backend(prefix="file-tg-")
    with ThreadPoolExecutor(1) as pool:
        one = dataset_id(repo)
        openai.go.clear()
        first = pool.submit(upload(repo, openai, one))
        assert openai.started.wait(30)  # OpenAI's upload is in flight, its claim held
        assert upload(repo, together, one, to="together")() == "file-tg-1"
        assert not repo.waiting.is_set()  # uploaded at once, not waited behind OpenAI's claim
        openai.go.set()
        assert first.result(30) == "file-1"
    assert (openai.uploads, together.uploads) == (["a.jsonl"], ["a.jsonl"])
    assert repo.upload_state(dataset_id=one, backend="together") == UploadState(
        file_id="file-tg-1", claimed=False
    )


def test_same_content_is_reused_only_on_the_backend_it_went_to(repo: WatchedRepository) -> None:
    openai, together = Backend(), Backend(prefix="file-tg-")
    one, two = dataset_id(repo, "F1"), dataset_id(repo, "F2")
    assert upload(repo, openai, one)() == "file-1"
    assert upload(repo, together, two, to="together")() == "file-tg-1"  # not OpenAI's file
    assert upload(repo, openai, two)() == "file-1"
    assert upload(repo, together, one, to="together")() == "file-tg-1"
    assert (openai.uploads, together.uploads) == (["a.jsonl"], ["a.jsonl"])
