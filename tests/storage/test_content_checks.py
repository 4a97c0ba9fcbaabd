"""Content checks in the store: claimed once per dataset (again after a failure or a stale claim),
progress and result recorded, and a finished check found again by its content."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine

from storage.content_checks import DONE, FAILED, RUNNING, ContentCheckRepository
from storage.repositories import DatasetRepository

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)


def dataset(engine: Engine, file_id: str) -> int:
    repo = DatasetRepository(engine=engine)
    repo.claim(
        slack_file_id=file_id, channel_id="C1", uploader_id="U1", thread_ts=None, now=NOW,
        lease=LEASE,
    )  # fmt: skip
    record = repo.get(slack_file_id=file_id)
    assert record is not None
    return record.id


def claim(repo: ContentCheckRepository, dataset_id: int, now: dt.datetime = NOW, who: str = "U1"):  # type: ignore[no-untyped-def]
    return repo.claim(
        dataset_id=dataset_id, sha256="abc", model="omni-moderation-latest", requester_id=who,
        channel_id="C1", now=now, lease=LEASE,
    )  # fmt: skip


def test_one_claim_per_dataset_even_when_clicks_race(engine: Engine) -> None:
    repo = ContentCheckRepository(engine=engine)
    one = dataset(engine, "F1")
    taken: list[bool] = []
    lock = threading.Lock()

    def click() -> None:
        result = claim(repo, one).taken
        with lock:
            taken.append(result)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [False] * 5 + [True]
    check = repo.get(dataset_id=one)
    assert check is not None and check.status == RUNNING and check.message_ts is None


def test_progress_result_and_reuse_by_content(engine: Engine) -> None:
    repo = ContentCheckRepository(engine=engine)
    one = dataset(engine, "F1")
    check = claim(repo, one).check
    repo.set_message(check_id=check.id, ts="111.222", now=NOW)
    repo.progress(check_id=check.id, total=103, checked=32, now=NOW)
    running = claim(repo, one, who="U2")
    assert not running.taken
    assert (running.check.message_ts, running.check.checked, running.check.total) == (
        "111.222", 32, 103,
    )  # fmt: skip
    assert repo.finished_for(sha256="abc", model="omni-moderation-latest") is None
    flagged = [(5, ("violence",)), (40, ("harassment", "hate"))]
    repo.finish(
        check_id=check.id, status=DONE, total=103, checked=103, skipped=1, flagged=flagged,
        unit="item", error=None, now=NOW,
    )  # fmt: skip
    done = claim(repo, one, now=NOW + LEASE * 5)  # a finished check is never taken again
    assert not done.taken and done.check.status == DONE
    found = repo.finished_for(sha256="abc", model="omni-moderation-latest")
    assert found is not None and found.id == check.id
    assert (found.flagged, found.flagged_count, found.unit, found.skipped) == (
        ((5, ("violence",)), (40, ("harassment", "hate"))), 2, "item", 1,
    )  # fmt: skip
    assert repo.finished_for(sha256="abc", model="text-moderation-latest") is None
    assert repo.finished_for(sha256="other", model="omni-moderation-latest") is None


def test_a_failed_or_stale_check_is_taken_again(engine: Engine) -> None:
    repo = ContentCheckRepository(engine=engine)
    one, two = dataset(engine, "F1"), dataset(engine, "F2")
    check = claim(repo, one).check
    repo.finish(
        check_id=check.id, status=FAILED, total=103, checked=64, skipped=0, flagged=[],
        unit="line", error="HTTP 500", now=NOW,
    )  # fmt: skip
    again = claim(repo, one, who="U2")
    assert again.taken and again.check.status == RUNNING
    assert (again.check.requester_id, again.check.error, again.check.checked) == ("U2", None, 0)
    assert not claim(repo, one).taken
    # a check that stopped moving (its process died) is taken over once its lease ran out
    claim(repo, two)
    assert not claim(repo, two, now=NOW + LEASE - dt.timedelta(seconds=1)).taken
    assert claim(repo, two, now=NOW + LEASE + dt.timedelta(seconds=1)).taken
