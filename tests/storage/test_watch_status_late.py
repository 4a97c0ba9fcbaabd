"""A job claimed by the poller a moment before its status message is recorded, and found
finished by that very poll, still gets its status message edited (CI, under load).

The job is stored (and claimable) before its post, which becomes its status message, is made
and recorded. A poll that claimed it in between used to skip the edit (no status message known),
post the completion in the dataset's thread and mark the job finished: never polled again, its
status message kept saying "started" for good. The poll now looks at the job again first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.core.jobs import JobSnapshot, JobState
from bot.core.message import Message
from bot.core.watch import Event
from bot.services.backends import Backends
from bot.services.watch import JobWatcher
from handlers.text import render
from storage import migrate
from storage.db import make_engine
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRecord, JobRepository, NewJob
from storage.notifications import NotificationRepository
from storage.repositories import DatasetRepository
from tests.db import fresh_database_url

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
KEY = "start:C1:1.1"


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Backend:
    """A job cancelled already (no events)."""

    configured = True

    def retrieve(self, job_id: str) -> JobSnapshot:
        return JobSnapshot(id=job_id, status="cancelled", model="m")

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Event], bool]:
        return [], False


class Notifier:
    def __init__(self) -> None:
        self.edited: list[str | None] = []
        self.posts: list[str] = []

    def update_status(self, *, job: JobRecord, **_: Any) -> None:
        self.edited.append(job.status_ts)

    def post_in_thread(
        self, *, job: JobRecord, text: Message, key: str, broadcast: bool = False
    ) -> str:
        self.posts.append(render(text))
        return f"{len(self.posts)}.0"

    def post_outcome(self, *, job: JobRecord, text: Message, key: str, **_: Any) -> str:
        self.posts.append(render(text))
        return f"{len(self.posts)}.0"

    def find_marked(self, **_: Any) -> str | None:
        return None


def test_the_status_message_recorded_after_the_claim_is_still_edited(tmp_path: Path) -> None:
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        jobs, notifier = JobRepository(engine=engine), Notifier()
        jobs.add_request(
            request_key=KEY, now=NOW, request=NewJob(
                remote_id="ftjob-1", channel_id="C1", thread_ts="1.1", owner_id="U1",
                model="m", state=JobState.CREATED, status="queued", backend="openai",
            ),
        )  # fmt: skip
        watcher = JobWatcher(
            jobs=jobs,
            notifications=NotificationRepository(engine=engine),
            models=ModelRepository(engine=engine),
            datasets=DatasetRepository(engine=engine),
            backends=Backends({"openai": Backend()}),  # type: ignore[dict-item]
            notifier=notifier,  # type: ignore[arg-type]
            clock=Clock(),
        )
        claimed = jobs.by_key(KEY)  # what a poll claimed: no status message yet
        assert claimed is not None and claimed.status_ts is None
        jobs.set_status_message(job_id=claimed.id, ts="2.2", now=NOW)  # the post, recorded
        watcher.poll_job(claimed)
        assert notifier.edited == ["2.2"]
        assert len(notifier.posts) == 1 and "cancelled" in notifier.posts[0]
        assert jobs.by_key(KEY).state == JobState.FINISHED  # type: ignore[union-attr]
        engine.dispose()
