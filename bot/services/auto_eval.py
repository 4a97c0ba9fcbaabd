"""The automatic scorecard (product §10): when a job succeeds and its data has held-out examples
(its `holdout=` part, else its validation file), the fine-tuned model, its base and the best model
of the job's own channel on that dataset answer them, and the scorecard goes in the job's thread.

Exactly once per job, across replicas and restarts: the watcher records the evaluation as due
(once per job, unless `eval=off` was recorded at start); a scheduler tick claims due ones under a
lease and runs them on a small pool; a heartbeat renews the lease while the calls run; a runner
that lost its lease (another took over after it stalled) posts nothing; a runner taking over
after a crash edits the progress line already posted and looks for a scorecard already posted
(by its marker) before running again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from concurrent.futures import Executor

from bot.core.access import Viewer
from bot.core.message import Code, Message, say
from bot.services.errors import UserError
from bot.services.eval_post import EvalNotifier, ProgressLine, Where
from bot.services.eval_text import OverCap, estimate_text, fewer_text, over_cap_text
from bot.services.evaluation import EvaluationService
from bot.services.ports import Clock
from storage.evaluations import HoldoutRecord, HoldoutRepository
from storage.job_evaluations import DONE, SKIPPED, JobEvaluationRecord, JobEvaluationRepository
from storage.jobs import JobRecord, JobRepository
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=90)
MAX_ATTEMPTS = 3  # a scorecard that failed this often is given up (the log says why)


def channel_viewer(job: JobRecord) -> Viewer:
    """The job's channel as the audience: only its own models (and base models) may appear."""
    channel = job.channel_id
    return Viewer(job.owner_id, False, lambda conversation: conversation == channel, channel)


def scorecard_key(job: JobRecord) -> str:
    """The marker the job's automatic scorecard carries in Slack."""
    return f"job:{job.request_key}:scorecard:auto"


class AutoEvaluator:
    """Records, claims and runs the automatic scorecards of succeeded jobs."""

    def __init__(
        self,
        *,
        service: EvaluationService,
        runs: JobEvaluationRepository,
        jobs: JobRepository,
        datasets: DatasetRepository,
        holdouts: HoldoutRepository,
        notifier: EvalNotifier,
        clock: Clock,
        executor: Executor,
        workers: int = 2,
        lease: dt.timedelta = LEASE,
    ) -> None:
        self._service = service
        self._runs = runs
        self._jobs = jobs
        self._datasets = datasets
        self._holdouts = holdouts
        self._notifier = notifier
        self._clock = clock
        self._executor = executor
        self._workers = workers
        self._lease = lease
        self._busy = 0
        self._lock = threading.Lock()
        self.owner = f"eval-{uuid.uuid4().hex[:12]}"

    # ---- recording and claiming --------------------------------------------------------------

    def job_succeeded(self, job: JobRecord) -> None:
        """A job succeeded: its scorecard is due when its data has held-out examples (the
        watcher calls this on every poll that sees the success: recorded once)."""
        if job.validation_dataset_id is None:
            split = self._holdouts.of_job(job.id)
            if split is None or not split.held_out_count:
                return
        self._runs.due(job_id=job.id, now=self._clock.now())

    def run_due(self) -> int:
        """One scheduler tick: claim as many due scorecards as there are free workers and
        run them in the background; returns how many were claimed."""
        with self._lock:
            free = self._workers - self._busy
        if free <= 0:
            return 0
        claimed = self._runs.claim(
            owner=self.owner, now=self._clock.now(), lease=self._lease, limit=free
        )
        for claim in claimed:
            with self._lock:
                self._busy += 1
            self._executor.submit(self._guarded, claim)
        return len(claimed)

    def _guarded(self, claim: JobEvaluationRecord) -> None:
        lost = threading.Event()
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(claim, stop, lost), name="eval-lease", daemon=True
        )
        beat.start()
        try:
            self.evaluate_job(claim, lost)
        except Exception:  # the lease runs out and the next attempt takes it over
            log.exception("the automatic evaluation of job %s failed", claim.job_id)
        finally:
            stop.set()
            with self._lock:
                self._busy -= 1

    def _heartbeat(
        self, claim: JobEvaluationRecord, stop: threading.Event, lost: threading.Event
    ) -> None:
        while not stop.wait(self._lease.total_seconds() / 3):
            if not self._renew(claim):
                lost.set()
                return

    def _renew(self, claim: JobEvaluationRecord) -> bool:
        return self._runs.renew(
            evaluation_id=claim.id, owner=self.owner, now=self._clock.now(), lease=self._lease
        )

    def _finish(self, claim: JobEvaluationRecord, state: str, note: str | None = None) -> None:
        self._runs.finish(
            evaluation_id=claim.id, owner=self.owner, state=state, note=note,
            now=self._clock.now(),
        )  # fmt: skip

    # ---- one job -------------------------------------------------------------------------------

    def _target(self, job: JobRecord) -> tuple[DatasetRecord, HoldoutRecord | None] | None:
        """The held-out data: the job's split of its dataset, else its validation file."""
        split = self._holdouts.of_job(job.id)
        if split is not None and split.held_out_examples and job.dataset_id:
            dataset = self._datasets.by_id(job.dataset_id)
            if dataset is not None:
                return dataset, split
        if job.validation_dataset_id:
            validation = self._datasets.by_id(job.validation_dataset_id)
            if validation is not None:
                return validation, None
        return None

    def evaluate_job(self, claim: JobEvaluationRecord, lost: threading.Event) -> None:
        """Plan, post the progress line, run, and post the scorecard in the job's thread."""
        job = self._jobs.by_id(claim.job_id)
        thread = job and (job.thread_ts or job.status_ts)
        if claim.attempts > MAX_ATTEMPTS or job is None or not job.fine_tuned_model or not thread:
            self._finish(claim, SKIPPED, "given up" if job else "no job")
            return
        key = scorecard_key(job)
        if claim.scorecard_ts or (
            claim.attempts > 1
            and self._notifier.find_marked(channel=job.channel_id, thread_ts=thread, key=key)
        ):
            self._finish(claim, DONE)  # posted by a runner that stopped before recording it
            return
        target = self._target(job)
        if target is None:
            self._finish(claim, SKIPPED, "no held-out data")
            return
        dataset, split = target
        model = job.fine_tuned_model
        where = Where(job.channel_id, thread)
        try:
            plan = self._service.plan(
                viewer=channel_viewer(job), model=model, dataset=dataset,
                channel_id=job.channel_id, backend=job.backend, split=split,
                whole=split is None, undeployed=True,
            )  # fmt: skip
        except OverCap as over:
            command = f"/finetune eval {model} {dataset.slack_file_id}"
            why = over_cap_text(over.plan) + fewer_text(over.plan, command)
            self._skip(claim, where, model, why)
            return
        except UserError as error:
            self._skip(claim, where, model, error.message)
            return
        head = say("📊 Evaluating ", Code(model), " on ", Code(dataset.name), ": ")
        line = ProgressLine(
            self._notifier, where, head + estimate_text(plan) + say("."), ts=claim.progress_ts
        )
        ts = line.start(len(plan.cases))
        if claim.progress_ts is None:
            self._runs.record(
                evaluation_id=claim.id, owner=self.owner, now=self._clock.now(), progress_ts=ts
            )
        result = self._service.run(
            plan, channel_id=job.channel_id, thread_ts=thread, requester_id=None,
            progress=line, job_id=job.id,
        )  # fmt: skip
        if lost.is_set() or not self._renew(claim):
            log.warning("job %s: another runner took the evaluation over", job.id)
            return
        posted = self._notifier.post_scorecard(
            channel=job.channel_id, thread_ts=thread, result=result, key=key
        )
        self._runs.record(
            evaluation_id=claim.id, owner=self.owner, now=self._clock.now(),
            scorecard_ts=posted, run_id=result.evaluation_id,
        )  # fmt: skip
        self._finish(claim, DONE)

    def _skip(self, claim: JobEvaluationRecord, where: Where, model: str, why: Message) -> None:
        """One line in the job's thread saying why there is no scorecard."""
        if not self._renew(claim):
            return
        self._notifier.post_text(
            channel=where.channel,
            thread_ts=where.thread_ts,
            text=say("📊 No scorecard for ", Code(model), ": ") + why,
        )
        self._finish(claim, SKIPPED, str(why)[:500])
