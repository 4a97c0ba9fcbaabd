"""APScheduler wiring only: an interval job that calls the poller."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class _InfoAsDebug(logging.Filter):
    """Turns APScheduler's INFO records (two per run of every job) into DEBUG ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_QUIET = _InfoAsDebug()
# "Running job …" / "… executed successfully" every poll, "Added job …" at start; warnings
# (missed or skipped runs) and errors keep their level.
_CHATTY = ("apscheduler.executors.default", "apscheduler.scheduler")


def start_polling(
    poll: Callable[[], object],
    *,
    seconds: float,
    housekeeping: Callable[[], object] | None = None,
    housekeeping_seconds: float = 60.0,
    recovery: Callable[[], object] | None = None,
    recovery_seconds: float = 2.0,
    evaluations: Callable[[], object] | None = None,
) -> BackgroundScheduler:
    """Run `poll` every `seconds` (first run now); one run at a time, late runs coalesced.

    `housekeeping` (resuming work a crashed replica left behind, catching up on lost uploads)
    runs now and every minute; `recovery` (a no-op unless an outage was noticed) every 2 s;
    `evaluations` (claiming due automatic scorecards) as often as the poll, at least every 5 s.
    """
    for name in _CHATTY:
        logging.getLogger(name).addFilter(_QUIET)  # idempotent: the same filter object
    scheduler = BackgroundScheduler(timezone=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    if recovery is not None:
        _every(scheduler, recovery, seconds=recovery_seconds, job_id="recovery")
    if housekeeping is not None:
        _every(
            scheduler, housekeeping, seconds=housekeeping_seconds, job_id="housekeeping", first=now
        )
    if evaluations is not None:
        _every(scheduler, evaluations, seconds=min(seconds, 5.0), job_id="evaluations", first=now)
    _every(
        scheduler,
        poll,
        seconds=seconds,
        job_id="poll",
        first=now,
        jitter=min(5.0, seconds / 5) if seconds >= 5 else None,
    )
    scheduler.start()
    log.info("polling jobs every %s s", seconds)
    return scheduler


def _every(
    scheduler: BackgroundScheduler,
    run: Callable[[], object],
    *,
    seconds: float,
    job_id: str,
    first: dt.datetime | None = None,
    jitter: float | None = None,
) -> None:
    """An interval job: one run at a time, late runs coalesced, never dropped as misfired."""
    options: dict[str, object] = {"next_run_time": first} if first is not None else {}
    scheduler.add_job(
        run,
        "interval",
        seconds=seconds,
        jitter=jitter,
        id=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        **options,
    )
