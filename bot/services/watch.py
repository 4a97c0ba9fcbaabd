"""The poller: every job's status message, each event once, completion, chart and checkpoints.

`poll_once(now)` leases the jobs being watched (so replicas never poll the same job at once),
reads each job's state and only its new events, records every notice under a unique key, and
then posts what is due. A crash between claiming and posting is reconciled by looking for the
message's marker in the thread before posting again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.core.backend_names import key_variable
from bot.core.checkpoints import CheckpointList
from bot.core.job_events import TIMELINE_SHOWN, Timeline, TimelineEntry, job_label, plan_update
from bot.core.jobs import Checkpoint, JobSnapshot, ServiceError
from bot.core.message import Code, Text, say
from bot.core.models import UnknownModelError, resolve_model
from bot.core.status import JobFacts, outcome_text, status_view
from bot.core.watch import (
    Event,
    metrics_from_dict,
    metrics_to_dict,
    new_events_since,
    parse_result_csv,
    rows_from_events,
)
from bot.services.backends import Backends
from bot.services.checkpoints import CheckpointLists
from bot.services.job_plan import job_epochs
from bot.services.ports import Clock, FineTuningBackend, WatchNotifier
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRecord, JobRepository, PollResult
from storage.notifications import NotificationRecord, NotificationRepository
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
# A claimed notice is re-taken only after this long: more than a post or a chart upload can
# take (Slack's client gives up on a request after 30 s), so a slow upload is never taken over
# by another replica and posted twice. Only a crash mid-post waits this long to be retried.
NOTICE_LEASE = dt.timedelta(seconds=45)
DATASET_CACHE = 4096  # datasets whose records the watcher keeps (its status views name them)
EVENTS_PAGE = 20
LEVEL_ICON = {"warn": "⚠️", "error": "❌"}
# Failures that hold for every job on the backend (the account's rate limit, its key): the
# rest of its jobs wait for the next cycle instead of each spending its own retries on them.
BACKEND_WIDE = frozenset({"rate_limited", "auth"})


@dataclass(frozen=True, slots=True)
class PollStats:
    """What one cycle did."""

    jobs: int
    failed: int


def marker(job: JobRecord, kind: str, key: str) -> str:
    """The key a job message carries in Slack, to find it again after a crash."""
    return f"job:{job.request_key}:{kind}:{key}"


def held_of(stored: dict[str, Any]) -> frozenset[str]:
    """The error events the last poll held back (tolerant of an odd stored value)."""
    held = stored.get("held")
    if not isinstance(held, list):
        return frozenset()
    return frozenset(item for item in held if isinstance(item, str))


class JobWatcher:
    """Polls each watched job's backend and keeps the jobs' threads up to date."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        notifications: NotificationRepository,
        models: ModelRepository,
        datasets: DatasetRepository,
        backends: Backends,
        notifier: WatchNotifier,
        clock: Clock,
        concurrency: int = 8,
        batch: int = 5000,
        lease: dt.timedelta = LEASE,
        on_success: Callable[[JobRecord], None] | None = None,
    ) -> None:
        self._on_success = on_success  # the automatic scorecard (bot.services.auto_eval)
        self._jobs = jobs
        self._notifications = notifications
        self._models = models
        self._datasets = datasets
        # A job's dataset, read once: every poll lays out the status view with its name, and a
        # dataset a job trains on is settled (reported, valid) and never changes.
        self._dataset_cache: dict[int, DatasetRecord] = {}
        self._backends = backends
        self._notifier = notifier
        self._clock = clock
        self._concurrency = concurrency
        self._batch = batch
        self._lease = lease
        self._notice_lease = max(lease, NOTICE_LEASE)
        self._owner = f"replica-{uuid.uuid4().hex[:12]}"
        self.lists = CheckpointLists(jobs=jobs, models=models, datasets=datasets, backends=backends)

    def poll_once(self, now: dt.datetime | None = None) -> PollStats:
        """One cycle over every job being watched (bounded concurrency, failures isolated)."""
        if not self._backends.configured():
            return PollStats(0, 0)
        now = now or self._clock.now()
        claimed = self._jobs.claim_active(
            owner=self._owner, now=now, lease=self._lease, limit=self._batch
        )
        failed = 0
        resting: set[str] = set()  # backends that answered a backend-wide failure this cycle
        try:
            with ThreadPoolExecutor(self._concurrency, thread_name_prefix="poll") as pool:
                for ok in pool.map(partial(self._poll_guarded, resting=resting), claimed):
                    failed += not ok
        finally:
            self._jobs.release(ids=[job.id for job in claimed], owner=self._owner)
        return PollStats(len(claimed), failed)

    def _poll_guarded(self, job: JobRecord, *, resting: set[str] | None = None) -> bool:
        if resting is not None and job.backend in resting:
            return False  # polled again next cycle
        try:
            self.poll_job(job)
        except ServiceError as error:  # the backend's answer, already in plain words
            log.warning("polling %s failed: %s (%s)", job.remote_id, error, error.kind)
            if error.kind in BACKEND_WIDE and resting is not None:
                resting.add(job.backend)
            if error.kind == "auth":
                self._tell_key_refused(job, error)
            return False
        except Exception:  # one failing job must not block the others
            log.exception("polling %s failed", job.remote_id)
            return False
        return True

    def _tell_key_refused(self, job: JobRecord, error: ServiceError) -> None:
        """One line in the job's thread (once per job, across replicas) that its backend
        refused our key: otherwise its status would just stop moving without a word."""
        variable = key_variable(error.backend) or "its API key"
        message = (
            f"{error.backend} refused our API key ({variable}): this job's updates wait "
            "until an admin fixes it."
        )
        self._notifications.add(
            job_id=job.id,
            kind="event",
            key=f"{job.backend}-key-refused",
            payload={"message": message, "level": "error"},
            now=self._clock.now(),
        )
        last_known = JobSnapshot(
            id=job.remote_id or "",
            status=job.status or "unknown",
            model=job.model,
            fine_tuned_model=job.fine_tuned_model,
            trained_tokens=job.trained_tokens,
        )
        try:
            self.deliver(job, last_known)
        except Exception:  # delivered by a later poll (the notice is recorded)
            log.warning("telling %s about the refused key failed", job.remote_id)

    def poll_job(self, job: JobRecord) -> None:
        """Read one job's state and new events; record notices; edit; post what is due.

        Routine events are recorded as shown by the status message (its timeline is read back
        from them), so a replayed event is listed once and a crash before the edit only
        delays it: the view differs from the stored one until an edit succeeded. The timeline
        is kept with the watch state too, so a poll that recorded no routine event reads it
        from there, without a query: only this poll, under the job's lease, adds to it."""
        gateway = self._backends.get(job.backend)
        remote_id = job.remote_id
        assert remote_id
        snapshot = gateway.retrieve(remote_id)
        if snapshot.status == "cancelled" and not job.cancelled_by:
            job = self._jobs.by_key(job.request_key) or job  # who cancelled, if it was us
        stored, cursor = self._jobs.snapshot_of(job.id)
        stored = stored or {}
        events = self._new_events(gateway, remote_id, cursor)
        now = self._clock.now()
        update = plan_update(
            previous_metrics=metrics_from_dict(stored.get("metrics")),
            previous_status=job.status,
            snapshot=snapshot,
            new_events=events,
            cursor=cursor,
            held=held_of(stored),
        )
        for notice in update.notices:
            self._notifications.add(
                job_id=job.id,
                kind=notice.kind,
                key=notice.key,
                payload=notice.payload,
                now=now,
                shown_in=(job.status_ts or "status") if notice.kind == "timeline" else None,
            )
        timeline = None
        if not any(notice.kind == "timeline" for notice in update.notices):
            timeline = Timeline.from_payload(stored.get("timeline"))
        timeline = timeline or self.timeline(job)
        current = status_view(
            facts=self.facts(job),
            snapshot=snapshot,
            metrics=update.metrics,
            timeline=timeline,
            now=int(now.timestamp()),
        )
        view = stored.get("view")
        if str(current) != view and not job.status_ts:
            # Claimed a moment before its status message was recorded (just created, or being
            # adopted): look again, or a job finished by now would never show it finished.
            job = self._jobs.by_key(job.request_key) or job
        if str(current) != view and job.status_ts:
            self._notifier.update_status(job=job, view=current)
            view = str(current)
        stored_state: dict[str, Any] = {
            "metrics": metrics_to_dict(update.metrics),
            "view": view,
            "timeline": timeline.payload(),
        }
        if update.held:  # error events seen while the job ran: decided on the next poll
            stored_state["held"] = sorted(update.held)
        if snapshot.billed_usd is not None:  # the backend's own price (usage reports)
            stored_state["billed_usd"] = snapshot.billed_usd
        poll = PollResult(
            status=snapshot.status,
            snapshot=stored_state,
            events_cursor=update.cursor,
            trained_tokens=snapshot.trained_tokens,
            fine_tuned_model=snapshot.fine_tuned_model,
            finished=snapshot.finished,
        )
        self._jobs.record_poll(job_id=job.id, now=now, poll=poll)
        if snapshot.status == "succeeded" and snapshot.fine_tuned_model:
            self._models.add(
                name=snapshot.fine_tuned_model,
                job_id=job.id,
                owner_id=job.owner_id,
                channel_id=job.channel_id,
                base_model=job.model,
                now=now,
                backend=job.backend,
            )
            if self._on_success is not None:
                self._on_success(job)
        self.deliver(job, snapshot)
        if snapshot.finished and not self._notifications.has_due(job_id=job.id):
            self._jobs.mark_finished(job_id=job.id, now=now)

    def _new_events(
        self, gateway: FineTuningBackend, job_id: str, cursor: str | None
    ) -> list[Event]:
        """Events newer than the cursor, oldest first (pages only as far back as needed)."""
        fresh: list[Event] = []
        after: str | None = None
        while True:
            page, has_more = gateway.events(job_id, after=after, limit=EVENTS_PAGE)
            found, reached = new_events_since(page, cursor)
            fresh += found
            if reached or not has_more or not page:
                break
            after = page[-1].id
        fresh.reverse()
        return fresh

    def deliver(self, job: JobRecord, snapshot: JobSnapshot) -> None:
        """Post the job's due notifications, each once, in the job's thread.

        A job with no thread yet (adopted, or started where the dataset's thread is unknown,
        whose status message is still being posted) keeps its notices recorded until it has
        one: posted now they would land in the channel and be missing from the thread."""
        if not (job.thread_ts or job.status_ts):
            return
        if not self._notifications.has_due(job_id=job.id):
            return
        claimed = self._notifications.claim(
            job_id=job.id, now=self._clock.now(), lease=self._notice_lease
        )
        for index, record in enumerate(claimed):
            key = marker(job, record.kind, record.key)
            thread = job.thread_ts or job.status_ts
            try:
                ts = None
                if record.retried and thread:
                    ts = self._notifier.find_marked(
                        channel=job.channel_id, thread_ts=thread, key=key
                    )
                if ts is None:
                    ts = self._post(job, snapshot, record, key)
            except Exception:
                # It may or may not have reached Slack: the next poll looks for its marker
                # before posting again. Later notices wait, so the thread stays in order.
                self._notifications.expire(ids=[r.id for r in claimed[index:]])
                raise
            self._notifications.sent(notification_id=record.id, ts=ts, now=self._clock.now())

    def _post(
        self, job: JobRecord, snapshot: JobSnapshot, record: NotificationRecord, key: str
    ) -> str | None:
        if record.kind == "event":  # a warning or an error: a reply naming its job
            icon = LEVEL_ICON.get(record.payload.get("level", ""), "•")
            return self._notifier.post_in_thread(
                job=job,
                text=say(
                    f"{icon} ",
                    Code(job_label(job.remote_id, job.suffix)),
                    ": ",
                    Text(str(record.payload.get("message", ""))[:1500]),
                ),
                key=key,
            )
        if record.kind == "completion":
            if snapshot.status == "cancelled" and not job.cancelled_by:
                job = self._jobs.by_key(job.request_key) or job
            loss = record.payload.get("valid_loss")
            text = outcome_text(
                facts=self.facts(job),
                snapshot=snapshot,
                valid_loss=loss if isinstance(loss, int | float) else None,
            )
            succeeded = snapshot.status == "succeeded"
            return self._notifier.post_outcome(
                job=job,
                text=text,
                key=key,
                model=snapshot.fine_tuned_model if succeeded else None,
                # successes and failures reach the channel; a cancel stays in its thread
                broadcast=snapshot.status in ("succeeded", "failed"),
            )
        if record.kind == "chart":
            return self.post_chart(job, snapshot, key=key)
        if record.kind == "checkpoints":
            listing = self.lists.listing(job, final_model=snapshot.fine_tuned_model or "")
            return self._notifier.post_checkpoints(job=job, listing=listing, key=key)
        return None

    def refresh_checkpoints(self, job: JobRecord) -> tuple[CheckpointList, bool]:
        """The job's checkpoint list now, edited in place in its thread (after a choice);
        whether there was a list in the thread to edit."""
        listing = self.lists.listing(job)
        ts = self._notifications.sent_ts(job_id=job.id, kind="checkpoints", key="final")
        if ts:
            self._notifier.update_checkpoints(job=job, listing=listing, ts=ts)
        return listing, ts is not None

    def post_chart(self, job: JobRecord, snapshot: JobSnapshot, *, key: str) -> str | None:
        """The loss chart in the job's thread (from the result file, else the metrics events),
        titled by the job's dataset and suffix, marking its checkpoints and epochs."""
        assert job.remote_id
        gateway = self._backends.get(job.backend)
        rows = []
        for file_id in snapshot.result_files:
            try:
                rows = parse_result_csv(gateway.file_content(file_id))
            except ServiceError:
                rows = []
            if rows:
                break
        if not rows:
            rows = rows_from_events(self._new_events(gateway, job.remote_id, None))
        checkpoints: list[Checkpoint] = []
        try:
            checkpoints = gateway.checkpoints(job.remote_id)
        except ServiceError:  # the chart without its checkpoint marks
            log.warning("no checkpoints for the chart of %s", job.remote_id)
        marks = self.lists.chart_marks(job, rows, checkpoints)
        # matplotlib loads on the first chart, not at import
        from bot.charts import has_accuracy, loss_chart

        png = loss_chart(
            rows,
            title=marks.title,
            subtitle=f"{job.model} · {job.remote_id}",
            checkpoints=marks.checkpoints,
            epoch_ends=marks.epoch_ends,
        )
        return self._notifier.upload_chart(
            job=job,
            png=png,
            title=marks.title,
            key=key,
            accuracy=has_accuracy(rows),
            checkpoints=bool(marks.checkpoints),
            epochs=bool(marks.epoch_ends),
        )

    def facts(self, job: JobRecord) -> JobFacts:
        """What the bot knows about the job (its dataset is None when adopted)."""
        dataset = self._dataset_of(job)
        try:
            info = resolve_model(job.model, job.backend)
            # a backend that quotes its own price (or none): no per-token rate, never $0
            price = None if info.quoted else info.training_usd_per_1m
        except UnknownModelError:
            price = None
        return JobFacts(
            owner_id=job.owner_id,
            model=job.model,
            backend=job.backend,
            remote_id=job.remote_id or "",
            method=job.method,
            dataset_name=dataset.name if dataset else None,
            suffix=job.suffix,
            requested=dict(job.hyperparameters or {}),
            planned_epochs=job_epochs(job, dataset) if dataset else None,
            estimated_cost=job.estimated_cost_usd,
            estimated_tokens=job.estimated_tokens,
            usd_per_1m=price,
            cancelled_by=job.cancelled_by,
            dataset_file_id=dataset.slack_file_id if dataset else None,
        )

    def _dataset_of(self, job: JobRecord) -> DatasetRecord | None:
        if not job.dataset_id:
            return None
        found = self._dataset_cache.get(job.dataset_id)
        if found is None:
            found = self._datasets.by_id(job.dataset_id)
            if found is not None:
                if len(self._dataset_cache) >= DATASET_CACHE:
                    self._dataset_cache.clear()
                self._dataset_cache[job.dataset_id] = found
        return found

    def timeline(self, job: JobRecord) -> Timeline:
        """The job's last routine events and how many came before them."""
        payloads, total = self._notifications.latest(
            job_id=job.id, kind="timeline", limit=TIMELINE_SHOWN
        )
        entries = tuple(TimelineEntry.from_payload(p) for p in payloads)
        return Timeline(entries=entries, earlier=max(total - len(entries), 0))
