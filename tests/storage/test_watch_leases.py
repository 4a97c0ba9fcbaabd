"""The poller leases jobs for its configured time, so a dead replica's jobs come back quickly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.core.jobs import JobState
from bot.services.backends import Backends
from bot.services.watch import JobWatcher
from storage import migrate
from storage.db import make_engine
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRepository, NewJob
from storage.notifications import NotificationRepository
from storage.repositories import DatasetRepository
from tests.db import fresh_database_url

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


class Clock:
    def now(self) -> dt.datetime:
        return NOW


class Gateway:
    configured = True
    """Stands in for OpenAI: notes the job's lease while it is being polled, then fails."""

    def __init__(self, engine: object) -> None:
        self.engine = engine
        self.lease_until: str | None = None

    def retrieve(self, job_id: str) -> None:
        from sqlalchemy import text

        with self.engine.connect() as connection:  # type: ignore[attr-defined]
            self.lease_until = str(
                connection.execute(text("select lease_until from jobs")).scalar()
            )
        raise RuntimeError("OpenAI is not part of this test")


def test_claims_use_the_configured_lease(tmp_path: Path) -> None:
    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        jobs = JobRepository(engine=engine)
        jobs.add_request(
            request_key="k", now=NOW, request=NewJob(
                remote_id="ftjob-1", channel_id="C1", owner_id="U1",
                model="gpt-4o-mini-2024-07-18", state=JobState.CREATED, status="running",
            ),
        )  # fmt: skip
        lease = dt.timedelta(seconds=1)
        claimed = jobs.claim_active(owner="dead-replica", now=NOW, lease=lease, limit=10)
        assert [j.remote_id for j in claimed] == ["ftjob-1"]
        # the replica dies without releasing: others wait only for the lease
        assert jobs.claim_active(owner="other", now=NOW, lease=lease, limit=10) == []
        later = NOW + dt.timedelta(seconds=2)
        assert len(jobs.claim_active(owner="other", now=later, lease=lease, limit=10)) == 1
        gateway = Gateway(engine)
        watcher = JobWatcher(
            jobs=jobs,
            notifications=NotificationRepository(engine=engine),
            models=ModelRepository(engine=engine),
            datasets=DatasetRepository(engine=engine),
            backends=Backends({"openai": gateway}),  # type: ignore[dict-item]
            notifier=None,  # type: ignore[arg-type]
            clock=Clock(),
            lease=lease,
        )
        jobs.release(ids=[1], owner="other")
        stats = watcher.poll_once(NOW + dt.timedelta(seconds=10))
        assert (stats.jobs, stats.failed) == (1, 1)
        # held for the configured second, not a default of minutes
        assert gateway.lease_until is not None and gateway.lease_until.startswith(
            "2026-11-25 12:00:11"
        )
        with engine.connect() as connection:
            from sqlalchemy import text

            assert connection.execute(text("select lease_owner from jobs")).scalar() is None
        engine.dispose()
