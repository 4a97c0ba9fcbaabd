"""The status message's timeline is kept with the job's watch state: a poll that recorded no
routine event renders it from there, without reading the notices (an unchanged cycle costs no
more queries than before the timeline), and a new routine event reads them again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.core.job_events import Timeline, TimelineEntry
from bot.core.jobs import JobSnapshot, JobState
from bot.core.watch import Event
from bot.services.backends import Backends
from bot.services.watch import JobWatcher
from storage import migrate
from storage.db import make_engine
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRecord, JobRepository, NewJob
from storage.models import Dataset, Job
from storage.notifications import NotificationRepository
from storage.repositories import DatasetRepository
from tests.db import fresh_database_url

START = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def now(self) -> dt.datetime:
        return self.at


class Backend:
    """A running job whose events (newest first) the test appends to."""

    configured = True

    def __init__(self) -> None:
        self.happened: list[Event] = []

    def retrieve(self, job_id: str) -> JobSnapshot:
        return JobSnapshot(
            id=job_id, status="running", model="m", created_at=int(START.timestamp())
        )

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Event], bool]:
        return list(reversed(self.happened)), False  # the watcher stops at its cursor


class Notifier:
    def __init__(self) -> None:
        self.views: list[str] = []

    def update_status(self, *, job: JobRecord, view: Any) -> None:
        self.views.append(str(view))


class CountingNotifications(NotificationRepository):
    """Counts the reads of a job's timeline from its notices."""

    reads = 0

    def latest(self, *, job_id: int, kind: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        self.reads += 1
        return super().latest(job_id=job_id, kind=kind, limit=limit)


def routine(n: int) -> Event:
    return Event(id=f"ev-{n}", created_at=int(START.timestamp()) + n, level="info",
                 message=f"Routine step {n}")  # fmt: skip


def test_an_unchanged_poll_renders_the_kept_timeline_without_reading_the_notices(
    tmp_path: Path,
) -> None:
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        jobs, notices = JobRepository(engine=engine), CountingNotifications(engine=engine)
        record, _ = jobs.add_request(
            request_key="k", now=START, request=NewJob(
                remote_id="ftjob-1", channel_id="C1", owner_id="U1", model="m",
                state=JobState.CREATED, status="running",
            ),
        )  # fmt: skip
        jobs.set_status_message(job_id=record.id, ts="100.1", thread_ts="100.1", now=START)
        backend, notifier, clock = Backend(), Notifier(), Clock()
        backend.happened.append(routine(1))
        watcher = JobWatcher(
            jobs=jobs,
            notifications=notices,
            models=ModelRepository(engine=engine),
            datasets=DatasetRepository(engine=engine),
            backends=Backends({"openai": backend}),  # type: ignore[dict-item]
            notifier=notifier,  # type: ignore[arg-type]
            clock=clock,
        )

        def poll(minutes: int) -> None:
            clock.at = START + dt.timedelta(minutes=minutes)
            assert watcher.poll_once(clock.at).failed == 0

        poll(0)  # the first event: read, shown
        assert notices.reads == 1 and len(notifier.views) == 1
        assert "Routine step 1" in notifier.views[-1]
        poll(1)  # nothing new: no read, no edit
        assert notices.reads == 1 and len(notifier.views) == 1
        poll(11)  # only the elapsed time moved: edited, the timeline from the watch state
        assert notices.reads == 1 and len(notifier.views) == 2
        assert "Routine step 1" in notifier.views[-1]
        assert "elapsed 10 min" in notifier.views[-1]
        backend.happened += [routine(2), routine(3)]
        poll(12)  # new routine events: read again, one edit listing them all
        assert notices.reads == 2 and len(notifier.views) == 3
        assert all(f"Routine step {n}" in notifier.views[-1] for n in (1, 2, 3))
        poll(13)
        assert notices.reads == 2 and len(notifier.views) == 3
        # a watch state kept before the timeline was (an upgrade): read once, then kept
        stored, _ = jobs.snapshot_of(record.id)
        assert stored is not None and "timeline" in stored
        old = {k: v for k, v in stored.items() if k != "timeline"}
        with engine.begin() as connection:
            connection.execute(update(Job).where(Job.id == record.id).values(snapshot=old))
        poll(14)
        poll(15)
        assert notices.reads == 3 and len(notifier.views) == 3
        engine.dispose()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"entries": [{"at": 5, "text": "Job started"}], "earlier": 3},
            Timeline(entries=(TimelineEntry(5, "Job started"),), earlier=3),
        ),
        ({"entries": [], "earlier": 0}, Timeline()),
        # odd values are tolerated, as in the notices: one bad row must not stop a job
        (
            {"entries": [{"at": "x", "text": None}, "junk"], "earlier": True},
            Timeline(entries=(TimelineEntry(0, ""),), earlier=0),
        ),
        (None, None),
        ({"earlier": 2}, None),
        ("entries", None),
    ],
)
def test_the_kept_timeline_reads_back_or_is_not_there(
    payload: object, expected: Timeline | None
) -> None:
    got = Timeline.from_payload(payload)
    assert got == expected
    if got is not None:
        assert Timeline.from_payload(got.payload()) == got


class CountingDatasets(DatasetRepository):
    """Counts the reads of a dataset by id."""

    reads = 0

    def by_id(self, dataset_id: int) -> Any:
        self.reads += 1
        return super().by_id(dataset_id)


def test_the_jobs_dataset_is_read_once_however_often_the_job_is_polled(tmp_path: Path) -> None:
    """Every poll lays out the status view, which names the dataset: it is read once, not per
    poll (a settled dataset never changes), so an unchanged poll costs no dataset query."""
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        datasets, jobs = CountingDatasets(engine=engine), JobRepository(engine=engine)
        datasets.claim(
            slack_file_id="F1", channel_id="C1", uploader_id="U1", thread_ts="100.1", now=START,
            lease=dt.timedelta(minutes=10),
        )  # fmt: skip
        stored = datasets.get(slack_file_id="F1")
        assert stored is not None
        with engine.begin() as connection:
            connection.execute(update(Dataset).values(name="sports_chat.jsonl"))
        record, _ = jobs.add_request(
            request_key="k", now=START, request=NewJob(
                remote_id="ftjob-1", channel_id="C1", owner_id="U1", model="m",
                state=JobState.CREATED, status="running", dataset_id=stored.id,
            ),
        )  # fmt: skip
        jobs.set_status_message(job_id=record.id, ts="100.2", thread_ts="100.1", now=START)
        notifier, clock = Notifier(), Clock()
        watcher = JobWatcher(
            jobs=jobs,
            notifications=NotificationRepository(engine=engine),
            models=ModelRepository(engine=engine),
            datasets=datasets,
            backends=Backends({"openai": Backend()}),  # type: ignore[dict-item]
            notifier=notifier,  # type: ignore[arg-type]
            clock=clock,
        )
        datasets.reads = 0
        for minutes in (0, 10, 20):
            clock.at = START + dt.timedelta(minutes=minutes)
            assert watcher.poll_once(clock.at).failed == 0
        assert datasets.reads == 1
        assert len(notifier.views) >= 2 and "sports_chat.jsonl" in notifier.views[-1]
        engine.dispose()
