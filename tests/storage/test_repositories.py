"""Storage: migrations at start (also concurrently), claims, delivery dedup."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from storage import migrate
from storage.db import make_engine, ping
from storage.repositories import DatasetRepository, DeliveryRepository
from tests.db import fresh_database_url

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    expected = {"datasets", "jobs", "notifications", "fine_tuned_models", "slack_deliveries"}
    assert expected <= tables
    assert ping(engine)


def test_two_replicas_migrating_at_once(tmp_path: Path) -> None:
    with fresh_database_url(tmp_path) as url:
        engines = [make_engine(url) for _ in range(3)]
        errors: list[BaseException] = []

        def run(engine: Engine) -> None:
            try:
                migrate.upgrade(engine)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert "datasets" in inspect(engines[0]).get_table_names()
        for engine in engines:
            engine.dispose()


def claim(repo: DatasetRepository, file_id: str = "F1", now: dt.datetime = NOW) -> bool:
    return repo.claim(
        slack_file_id=file_id,
        channel_id="C1",
        uploader_id="U1",
        thread_ts=None,
        now=now,
        lease=LEASE,
    )


def test_a_file_is_claimed_once(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    assert claim(repo) is True
    assert claim(repo) is False
    assert claim(repo, now=NOW + dt.timedelta(minutes=5)) is False
    # a claim abandoned by a crash can be taken again once its lease has run out
    assert claim(repo, now=NOW + dt.timedelta(minutes=11)) is True
    repo.mark_reported(slack_file_id="F1", report_ts="1.1", now=NOW)
    assert claim(repo, now=NOW + dt.timedelta(days=1)) is False


def test_concurrent_claims_have_one_winner(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        wins.append(claim(repo, "F-race"))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_dataset_round_trip_and_listing(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    claim(repo, "F1")
    repo.describe(slack_file_id="F1", name="a.jsonl", size_bytes=9, thread_ts="1.0", now=NOW)
    repo.store_report(
        slack_file_id="F1",
        sha256="ab" * 32,
        format="chat",
        examples=12,
        total_tokens=345,
        valid=True,
        report={"format": "chat"},
        now=NOW,
    )
    repo.mark_reported(slack_file_id="F1", report_ts="1.1", now=NOW)
    record = repo.get(slack_file_id="F1")
    assert record is not None
    upload = {"dataset_id": record.id, "backend": "openai"}
    assert repo.claim_upload(**upload, token="t", now=NOW, lease=LEASE)
    assert repo.finish_upload(**upload, file_id="file-1", now=NOW) == "file-1"
    assert (record.name, record.examples, record.valid, record.report) == (
        "a.jsonl",
        12,
        True,
        {"format": "chat"},
    )
    assert record.created_at.tzinfo is not None
    assert [r.slack_file_id for r in repo.in_channel(channel_id="C1")] == ["F1"]
    assert repo.in_channel(channel_id="C2") == []
    assert repo.uploaded_with_sha(sha256="ab" * 32, backend="openai") == "file-1"


def columns(repo: DatasetRepository) -> dict[str, object]:
    record = repo.get(slack_file_id="F1")
    assert record is not None
    return {name: getattr(record, name) for name in record.__slots__}


def changed(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    return {name: value for name, value in after.items() if before[name] != value}


def test_each_dataset_write_sets_exactly_its_columns(engine: Engine) -> None:
    repo = DatasetRepository(engine=engine)
    claim(repo, "F1")
    claim(repo, "F2")
    untouched = repo.get(slack_file_id="F2")
    writes = [
        (
            lambda: repo.describe(
                slack_file_id="F1", name="a.jsonl", size_bytes=9, thread_ts="1.0", now=NOW
            ),
            {"name": "a.jsonl", "size_bytes": 9, "thread_ts": "1.0"},
        ),
        (
            lambda: repo.store_report(
                slack_file_id="F1",
                sha256="cd" * 32,
                format="chat",
                examples=3,
                total_tokens=40,
                valid=False,
                report={"valid": False},
                now=NOW,
            ),
            {
                "sha256": "cd" * 32,
                "format": "chat",
                "examples": 3,
                "total_tokens": 40,
                "valid": False,
                "report": {"valid": False},
            },
        ),
        (
            lambda: repo.mark_reported(slack_file_id="F1", report_ts="1.1", now=NOW),
            {"status": "reported", "report_ts": "1.1"},
        ),
        (
            lambda: repo.mark_failed(slack_file_id="F1", error="Sorry", now=NOW),
            {"status": "failed", "error": "Sorry"},
        ),
        (lambda: repo.ignore(slack_file_id="F1", now=NOW), {"status": "ignored"}),
    ]
    for write, expected in writes:
        before = columns(repo)
        write()
        assert changed(before, columns(repo)) == expected
    assert repo.get(slack_file_id="F2") == untouched  # other rows are left alone


def test_delivery_first_time(engine: Engine) -> None:
    repo = DeliveryRepository(engine=engine)
    assert repo.first_time(event_id="Ev1", now=NOW) is True
    assert repo.first_time(event_id="Ev1", now=NOW) is False
    assert repo.first_time(event_id="Ev2", now=NOW) is True
