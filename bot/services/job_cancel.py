"""Cancelling a job: who asked is recorded first, so that the thread says it once, from the
watcher (the status message's "⏹ Cancelled by @who" and one line in the thread)."""

from __future__ import annotations

from bot.core.access import Viewer
from bot.core.backend_names import backend_name
from bot.core.message import Code, Message, say
from bot.services.backends import Backends
from bot.services.errors import provider_errors
from bot.services.ports import Clock
from storage.jobs import JobRecord, JobRepository


def cancel(
    *, jobs: JobRepository, backends: Backends, clock: Clock, viewer: Viewer, job: JobRecord
) -> Message:
    """Cancel `job` on its backend (the caller checked that `viewer` may). The clicker reads
    only that it is under way: the thread's line is not repeated to them."""
    before = job.cancelled_by
    # Before the backend is asked: a poll that sees the job cancelled then knows who did it.
    jobs.set_cancelled_by(job_id=job.id, user_id=viewer.user_id, now=clock.now())
    try:
        with provider_errors():
            snapshot = backends.get(job.backend).act("cancel", job.remote_id or "")
    except Exception:
        jobs.set_cancelled_by(job_id=job.id, user_id=before, now=clock.now())
        raise
    jobs.set_status(job_id=job.id, status=snapshot.status, now=clock.now())
    return say(
        "Cancelling ",
        Code(job.remote_id or ""),
        f": its status message in the thread shows ⏹ once {backend_name(job.backend)} "
        "has stopped it.",
    )
