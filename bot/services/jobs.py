"""Starting, approving and stopping fine-tuning jobs, with owners and exactly-once creation."""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from bot.core import commands
from bot.core.access import Viewer, may_see, visible
from bot.core.backend_names import backend_name
from bot.core.billing import BillingLine
from bot.core.jobs import JobState, ServiceError, status_text
from bot.core.message import Code, Mention, Message, Part, Text, say
from bot.core.models import ModelInfo
from bot.core.permissions import may_approve, may_modify
from bot.core.start_rules import hyperparameters
from bot.core.wind_down import next_steps
from bot.services import approval, holdout, job_plan, wind_down
from bot.services.backends import TOGETHER, Backends
from bot.services.errors import UserError, provider_errors
from bot.services.job_cancel import cancel
from bot.services.job_plan import JobPolicy, Plan
from bot.services.ports import Clock, FileSource, JobNotifier
from bot.services.uploads import create_once, ensure_uploaded, quote, uploaded_text
from bot.services.wind_down import Elsewhere
from storage.evaluations import HoldoutRepository
from storage.job_evaluations import JobEvaluationRepository
from storage.jobs import JobRecord, JobRepository, NewJob
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

WIND_DOWN = "training_not_available"  # OpenAI's 403 once it takes no new jobs
PAST = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}
__all__ = ["Elsewhere", "JobPolicy", "JobService", "Plan"]


class JobService:
    """Use cases around fine-tuning jobs (start, approve, retry, cancel/pause/resume, cost)."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        datasets: DatasetRepository,
        files: FileSource,
        backends: Backends,
        notifier: JobNotifier,
        clock: Clock,
        executor: Executor,
        policy: JobPolicy,
        holdouts: HoldoutRepository | None = None,
        job_evaluations: JobEvaluationRepository | None = None,
    ) -> None:
        self._holdouts = holdouts  # `holdout=P%` splits (None: jobs train on the whole file)
        self._job_evaluations = job_evaluations  # `eval=off` recorded with the job
        self._jobs = jobs
        self._datasets = datasets
        self._files = files
        self._backends = backends
        self._notifier = notifier
        self._clock = clock
        self._executor = executor
        self._policy = policy

    # ---- reading -----------------------------------------------------------------------------

    def dataset(self, reference: str, viewer: Viewer, channel_id: str) -> DatasetRecord:
        """Resolve a dataset reference the viewer may see, or explain why not.

        One the viewer may not see gets the same answer as one that does not exist."""
        candidates = self._datasets.find(reference=reference, channel_id=channel_id)
        found = visible(viewer, candidates, lambda d: d.channel_id)
        if not found:
            what = (
                say("valid dataset in this channel")
                if reference == "latest"
                else say(Code(reference))
            )
            raise UserError(
                say("I can't find ", what, ". `/finetune datasets` lists this channel's datasets.")
            )
        return found[0]

    def by_file(self, slack_file_id: str, viewer: Viewer) -> DatasetRecord | None:
        """The dataset of a Slack file, if the viewer may see it."""
        found = self._datasets.get(slack_file_id=slack_file_id)
        return found if found is not None and may_see(viewer, found.channel_id) else None

    def estimate(self, dataset: DatasetRecord, model: ModelInfo, epochs: int | None) -> BillingLine:
        """The cost of training `model` on `dataset` for `epochs` (default: the backend's)."""
        return job_plan.estimate(dataset, model, epochs, self._clock.now().date())

    def cost(
        self, cmd: commands.Cost, viewer: Viewer, channel_id: str
    ) -> tuple[DatasetRecord, BillingLine]:
        """`/finetune cost`."""
        dataset = self.dataset(cmd.dataset, viewer, channel_id)
        today = self._clock.now().date()
        backend = job_plan.choose_backend(
            named=cmd.backend, model=cmd.model, backends=self._backends, today=today
        )
        model = job_plan.choose_model(
            cmd.model or self._policy.default_model_of(backend), backend, today
        )
        try:
            return dataset, self.estimate(dataset, model, cmd.epochs)
        except UserError as error:
            if model.quoted:
                raise UserError(
                    error.message
                    + f" {backend_name(model.backend)} quotes the price when the job starts."
                ) from None
            raise

    def plan(self, cmd: commands.Start, viewer: Viewer, channel_id: str) -> Plan:
        """Check a start request: a configured backend, a dataset the viewer may use, a trainable
        model of that backend, options it has, data its method reads."""
        today = self._clock.now().date()
        backend = job_plan.choose_backend(
            named=cmd.backend, model=cmd.model, backends=self._backends, today=today
        )
        job_plan.require_configured(self._backends, backend)
        dataset = self.dataset(cmd.dataset, viewer, channel_id)
        if not dataset.valid:
            raise UserError(
                say(
                    Code(dataset.name),
                    " needs fixes before it can be trained (see its report in the thread where it "
                    "was shared).",
                )
            )
        model = job_plan.choose_model(
            cmd.model or self._policy.default_model_of(backend), backend, today
        )
        wanted = job_plan.check_start(cmd, backend, dataset, model, today)
        holdout.check(cmd, dataset)
        validation = None
        if cmd.validation:
            validation = self.dataset(cmd.validation, viewer, channel_id)
            job_plan.check_validation(validation, wanted)
        estimate = job_plan.estimate(dataset, model, cmd.epochs, today, need_count=False)
        return Plan(dataset, validation, model, estimate.epochs, estimate, backend)

    # ---- starting ----------------------------------------------------------------------------

    def request_start(
        self, *, viewer: Viewer, channel_id: str, cmd: commands.Start, request_key: str
    ) -> Message:
        """Record a start request once (by its key); create the job now or ask for approval.

        A backend that quotes its own price (Together) is asked after the upload: the approval
        threshold is then checked against that quote (`create`); a price nobody can know
        (Azure) needs an admin's approval now (bot.services.approval)."""
        plan = self.plan(cmd, viewer, channel_id)
        quoted = plan.model.quoted
        threshold = self._policy.approval_usd
        needs_approval = approval.needed_at_request(plan, threshold)
        job, created = self._jobs.add_request(
            request_key=request_key,
            now=self._clock.now(),
            request=NewJob(
                dataset_id=plan.dataset.id,
                validation_dataset_id=plan.validation.id if plan.validation else None,
                channel_id=plan.dataset.channel_id,
                thread_ts=plan.dataset.thread_ts,
                owner_id=viewer.user_id,
                model=plan.model.id,
                method=cmd.method,
                hyperparameters=hyperparameters(cmd, plan.backend),
                suffix=cmd.suffix,
                seed=cmd.seed,
                state=JobState.AWAITING_APPROVAL if needs_approval else JobState.REQUESTED,
                backend=plan.backend,
                estimated_cost_usd=None if quoted else plan.estimate.cost_usd,
                estimated_tokens=plan.estimate.billed_tokens or None,
            ),
        )
        if not created:
            return say("That request was already received; I'm on it (see the dataset's thread).")
        holdout.record_request(
            cmd, job.id, plan.dataset, plan.backend, holdouts=self._holdouts,
            evaluations=self._job_evaluations, now=self._clock.now(),
        )  # fmt: skip
        if needs_approval and threshold is not None:
            ts = self._notifier.post_approval_request(
                job=job, dataset=plan.dataset, threshold=threshold, epochs=plan.epochs
            )
            self._jobs.set_approval_message(request_key=request_key, ts=ts, now=self._clock.now())
            return approval.held_answer(plan, threshold)
        self._executor.submit(self._create_guarded, request_key)
        return job_plan.start_answer(plan, threshold)

    def approve(self, *, viewer: Viewer, request_key: str) -> Message:
        """An admin's approval: the job is created once."""
        job = self._job_by_key(request_key, viewer)
        actor = viewer.user_id
        decision = may_approve(
            actor_id=actor, requester_id=job.owner_id, admins=(), workspace_admin=viewer.admin
        )
        if not decision.allowed:
            raise UserError(say("You can't approve this: ", decision.reason, "."))
        if not self._jobs.approve(
            request_key=request_key, approver_id=actor, now=self._clock.now()
        ):
            return approval.answered(self._jobs.by_key(request_key) or job)
        dataset = self._datasets.by_id(job.dataset_id or 0)
        if dataset is not None:
            self._notifier.mark_approved(job=job, dataset=dataset, approver_id=actor)
        self._executor.submit(self._create_guarded, request_key)
        return say("Approved: starting the job.")

    def decline(self, *, viewer: Viewer, request_key: str) -> Message:
        """An admin declines (or the requester withdraws) a waiting request: nothing starts;
        its message says so once."""
        job = self._job_by_key(request_key, viewer)
        self.require_modify(viewer, job)
        if not self._jobs.decline(request_key=request_key, now=self._clock.now()):
            return approval.answered(self._jobs.by_key(request_key) or job)
        dataset = self._datasets.by_id(job.dataset_id or 0)
        self._notifier.mark_declined(job=job, dataset=dataset, decliner_id=viewer.user_id)
        return say("Declined: nothing was started.")

    def retry(self, *, viewer: Viewer, request_key: str) -> Message:
        """Try a failed (retryable) creation again: the requester or an admin."""
        job = self._job_by_key(request_key, viewer)
        self.require_modify(viewer, job)
        if job.state != JobState.RETRYABLE:
            return say("That request is not waiting for a retry.")
        self._executor.submit(self._create_guarded, request_key)
        return say("Trying again.")

    def _create_guarded(self, request_key: str) -> None:
        try:
            self.create(request_key)
        except Exception:
            log.exception("creating job %s failed", request_key)
            job = self._jobs.by_key(request_key)
            if job and self._jobs.interrupted(request_key=request_key, now=self._clock.now()):
                self._notifier.post_job_error(
                    job=job,
                    text=say(
                        "Something went wrong on my side while starting the job; nothing was "
                        "lost and you can try again."
                    ),
                    retry=True,
                )

    def create(self, request_key: str) -> None:
        """Upload the data once, take the backend's quote where it quotes (and stop for an
        admin's approval when the quote is above the threshold), then create the job once."""
        if not self._jobs.start_creating(request_key=request_key, now=self._clock.now()):
            return
        job = self._jobs.by_key(request_key)
        dataset = self._datasets.by_id(job.dataset_id or 0) if job else None
        assert job is not None and dataset is not None
        try:
            training, validation = self._upload_for(job, dataset)
            if job_plan.quotes(job) and job.approver_id is None:
                job = self._record_quote(job, training, validation)
                if self._held_for_approval(job, dataset):
                    return
            snapshot = create_once(
                self._backends.get(job.backend),
                job=job,
                dataset=dataset,
                training=training,
                validation=validation,
            )
        except ServiceError as error:
            text = error.explained
            self._jobs.creation_failed(
                request_key=request_key,
                error=str(text),
                retryable=error.retryable,
                now=self._clock.now(),
            )
            elsewhere: tuple[str, ...] = ()
            if error.kind == WIND_DOWN:  # OpenAI takes no new jobs: offer the other backends
                elsewhere = tuple(b for b in self._backends.configured() if b != job.backend)
                text = text + next_steps(elsewhere)
            self._notifier.post_job_error(
                job=job, text=text, retry=error.retryable, elsewhere=elsewhere
            )
            return
        self._jobs.created(
            request_key=request_key,
            remote_id=snapshot.id,
            status=snapshot.status,
            now=self._clock.now(),
        )
        job = self._jobs.by_key(request_key) or job
        ts = self._notifier.post_job(
            job=job, dataset=dataset, snapshot=snapshot, epochs=job_plan.job_epochs(job, dataset),
            holdout=self._holdouts.of_job(job.id) if self._holdouts else None,
        )  # fmt: skip
        self._jobs.set_status_message(job_id=job.id, ts=ts, now=self._clock.now())

    def _upload_for(self, job: JobRecord, dataset: DatasetRecord) -> tuple[str, str | None]:
        split = self._holdouts.of_job(job.id) if self._holdouts else None
        if split and self._holdouts:  # only the training part goes to the backend
            training = holdout.split_and_upload(
                dataset, split, holdouts=self._holdouts, files=self._files,
                gateway=self._backends.get(job.backend), clock=self._clock,
            )  # fmt: skip
        else:
            training = self.ensure_uploaded(dataset, job.backend)
        other = self._datasets.by_id(job.validation_dataset_id or 0)
        validation = self.ensure_uploaded(other, job.backend) if other else None
        return training, validation

    def _record_quote(self, job: JobRecord, training: str, validation: str | None) -> JobRecord:
        quoted = quote(
            self._backends.get(job.backend), job=job, training=training, validation=validation
        )
        cost, tokens = quoted if quoted else (None, None)
        self._jobs.quoted(
            request_key=job.request_key, cost_usd=cost, tokens=tokens, now=self._clock.now()
        )
        return self._jobs.by_key(job.request_key) or job

    def _held_for_approval(self, job: JobRecord, dataset: DatasetRecord) -> bool:
        return approval.held_after_quote(
            jobs=self._jobs, notifier=self._notifier, clock=self._clock,
            threshold=self._policy.approval_usd, job=job, dataset=dataset,
        )  # fmt: skip

    def ensure_uploaded(self, dataset: DatasetRecord, backend: str) -> str:
        """The dataset's file id on `backend`, uploading it unless the same content already was."""
        return ensure_uploaded(
            dataset,
            backend=backend,
            datasets=self._datasets,
            files=self._files,
            gateway=self._backends.get(backend),
            clock=self._clock,
        )

    def upload_only(self, *, viewer: Viewer, slack_file_id: str) -> None:
        """The report's *Upload only* button: upload (once) and say where it went."""
        actor = viewer.user_id
        dataset = self.by_file(slack_file_id, viewer)
        if dataset is None or not dataset.valid:
            raise UserError(say("Only a dataset that is ready to train can be uploaded."))
        backend = self._backends.default(self._clock.now().date())
        job_plan.require_configured(self._backends, backend)
        try:
            text = uploaded_text(actor, dataset, backend, self.ensure_uploaded(dataset, backend))
        except ServiceError as error:
            text = error.explained
        self._notifier.post_text(channel=dataset.channel_id, thread_ts=dataset.thread_ts, text=text)

    def elsewhere(self, *, viewer: Viewer, request_key: str, backend: str) -> Elsewhere:
        """The *Start on …* button of a request OpenAI refused (bot.services.wind_down)."""
        return wind_down.elsewhere(
            jobs=self._jobs, datasets=self._datasets, backends=self._backends,
            viewer=viewer, request_key=request_key, backend=backend,
        )  # fmt: skip

    def origin_key(self, *, viewer: Viewer, origin: str, dataset: DatasetRecord) -> str | None:
        """The refused request a start form moves, if `origin` is one (bot.services.wind_down)."""
        return wind_down.origin_key(jobs=self._jobs, viewer=viewer, origin=origin, dataset=dataset)

    # ---- stopping ----------------------------------------------------------------------------

    def resolve(self, reference: str, viewer: Viewer) -> JobRecord:
        """A started job the viewer may see, by its backend's own id (`ftjob-…`, `ft-…`) or an
        unambiguous prefix of it.

        Jobs the viewer may not see take no part: they neither match nor make a prefix ambiguous."""
        reference = reference.strip()
        matches = [j for j in self._jobs.matching(reference) if j.remote_id] if reference else []
        started = visible(viewer, matches, lambda j: j.channel_id)
        if not started:
            raise UserError(
                say("No job matches ", Code(reference), ". `/finetune jobs` lists them.")
            )
        if len(started) > 1:
            ids: list[Part] = []
            for job in started[:5]:
                ids += [", " if ids else "", Code(job.remote_id or "")]
            more = " …" if len(started) > 5 else ""
            raise UserError(
                say(
                    Code(reference),
                    " matches several jobs (",
                    *ids,
                    more,
                    "); give more of the id.",
                )
            )
        return started[0]

    def act(self, *, viewer: Viewer, action: str, reference: str) -> Message:
        """cancel / pause / resume: the owner or an admin; anyone else is refused before the backend is asked."""
        job = self.resolve(reference, viewer)
        self.require_modify(viewer, job)
        if job.backend == TOGETHER and action in ("pause", "resume"):
            raise UserError(
                say(f"{backend_name(job.backend)} can't {action} jobs; ")
                + Code(f"/finetune cancel {job.remote_id or ''}")
                + " stops it."
            )
        if action == "cancel":  # the watcher tells the thread, once
            return cancel(
                jobs=self._jobs, backends=self._backends, clock=self._clock, viewer=viewer, job=job
            )
        with provider_errors():
            snapshot = self._backends.get(job.backend).act(action, job.remote_id or "")
        self._jobs.set_status(job_id=job.id, status=snapshot.status, now=self._clock.now())
        now = say(Code(job.remote_id or ""), " (now ", Text(status_text(snapshot.status)), ").")
        self._notifier.post_text(
            channel=job.channel_id,
            thread_ts=job.thread_ts,
            text=say(Mention(viewer.user_id), f" {PAST[action]} job ", now),
        )
        return say(f"Job {PAST[action]}: ", now)

    # ---- helpers -----------------------------------------------------------------------------

    def require_modify(self, viewer: Viewer, job: JobRecord) -> None:
        """Refuse (UserError) unless the viewer may see the job and owns it or is an admin."""
        if not may_see(viewer, job.channel_id):
            raise UserError(say("No job matches that. `/finetune jobs` lists them."))
        decision = may_modify(
            actor_id=viewer.user_id, owner_id=job.owner_id, admins=(), workspace_admin=viewer.admin
        )
        if not decision.allowed:
            raise UserError(say("You can't do that: ", decision.reason, "."))

    def announce(self, *, job: JobRecord, text: Message) -> None:
        """A line in the job's thread (state changes are visible to the channel)."""
        self._notifier.post_text(
            channel=job.channel_id, thread_ts=job.thread_ts or job.status_ts, text=text
        )

    def _job_by_key(self, request_key: str, viewer: Viewer) -> JobRecord:
        job = self._jobs.by_key(request_key)
        if job is None or not may_see(viewer, job.channel_id):
            raise UserError(say("I don't know that job request any more."))
        return job
