"""Reading and steering watched jobs: status, events, checkpoints, chart, adopt, choose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.access import Viewer, may_change, may_see
from bot.core.checkpoints import CheckpointList, checkpoint_rows
from bot.core.jobs import JobSnapshot, JobState, ServiceError
from bot.core.message import Code, Conversation, Message, say
from bot.core.permissions import may_adopt
from bot.core.watch import Event, Metrics, metrics_from_dict
from bot.services.backends import Backends
from bot.services.errors import UserError, provider_errors
from bot.services.jobs import JobService
from bot.services.models import require_served, training_price
from bot.services.ports import Clock
from bot.services.watch import JobWatcher, marker
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRecord, JobRepository, NewJob
from storage.repositories import DatasetRepository

STARTED_EVENT = "Fine-tuning job started"  # OpenAI's and Azure's event when training begins


def actual_cost(snapshot: JobSnapshot, backend: str | None = None) -> float | None:
    """What the job cost: the backend's own price, else trained tokens × the model's training
    price on its backend; None while unknown."""
    if snapshot.billed_usd is not None:
        return snapshot.billed_usd
    price = training_price(snapshot.model, backend)
    if snapshot.trained_tokens is None or price is None:
        return None
    return snapshot.trained_tokens * price / 1_000_000


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """`/finetune status`: everything the backend's own dashboard shows about one job."""

    job_id: str
    backend: str
    owner_id: str | None
    snapshot: JobSnapshot
    metrics: Metrics
    now: int
    training_name: str | None = None  # the datasets' names, when the bot started the job
    validation_name: str | None = None
    estimated_usd: float | None = None
    actual_usd: float | None = None  # the backend's price, else trained tokens × the model's
    started_at: int | None = None

    @property
    def model(self) -> str:
        """The base model."""
        return self.snapshot.model

    @property
    def fine_tuned_model(self) -> str | None:
        """The model the job made, once it succeeded."""
        return self.snapshot.fine_tuned_model


class JobInspector:
    """Use cases that read a job or change what the bot does with it."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        models: ModelRepository,
        datasets: DatasetRepository,
        service: JobService,
        watcher: JobWatcher,
        backends: Backends,
        notifier: Any,
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self._models = models
        self._datasets = datasets
        self._service = service
        self._watcher = watcher
        self._backends = backends
        self._notifier = notifier
        self._clock = clock

    def _snapshot(self, backend: str, job_id: str) -> JobSnapshot:
        with provider_errors():
            return self._backends.get(backend).retrieve(job_id)

    def _job_or_id(self, reference: str, viewer: Viewer) -> tuple[JobRecord | None, str, str]:
        """(the stored job or None, its remote id, its backend)."""
        try:
            job = self._service.resolve(reference, viewer)
            return job, job.remote_id or "", job.backend
        except UserError:
            # A job started elsewhere (dashboard, API) belongs to no conversation: admins may
            # read it before adopting it. A job the store knows is never read this way.
            reference = reference.strip()
            if reference.startswith(("ftjob-", "ft-")) and may_see(viewer, None):
                backend = self._backends.of_job_id(reference)
                if self._jobs.by_remote_id(backend=backend, remote_id=reference) is None:
                    return None, reference, backend
            raise

    def status(self, reference: str, viewer: Viewer) -> StatusAnswer:
        """One job's settings, files, times, tokens, progress, metrics, cost and error."""
        job, job_id, backend = self._job_or_id(reference, viewer)
        snapshot = self._snapshot(backend, job_id)
        stored = self._jobs.snapshot_of(job.id)[0] if job else None
        training = self._datasets.by_id(job.dataset_id) if job and job.dataset_id else None
        validation = (
            self._datasets.by_id(job.validation_dataset_id)
            if job and job.validation_dataset_id
            else None
        )
        return StatusAnswer(
            job_id=job_id,
            backend=backend,
            owner_id=job.owner_id if job else snapshot.metadata.get("slack_user"),
            snapshot=snapshot,
            metrics=metrics_from_dict((stored or {}).get("metrics")),
            now=int(self._clock.now().timestamp()),
            training_name=training.name if training else None,
            validation_name=validation.name if validation else None,
            estimated_usd=job.estimated_cost_usd if job else None,
            actual_usd=actual_cost(snapshot, backend),
            started_at=snapshot.started_at or self._started(backend, snapshot),
        )

    def _started(self, backend: str, snapshot: JobSnapshot) -> int | None:
        """When training began, from the job's events (OpenAI and Azure do not say otherwise);
        None when unknown or the events cannot be read (the status answers all the same)."""
        if snapshot.status in ("validating_files", "queued") or not snapshot.created_at:
            return None
        try:
            page, _ = self._backends.get(backend).events(snapshot.id, limit=100)
        except ServiceError:
            return None
        started = [e.created_at for e in page if e.message.startswith(STARTED_EVENT)]
        return min(started) if started else None

    def events(self, reference: str, count: int, viewer: Viewer) -> tuple[str, list[Event], str]:
        """(the job's id, its last `count` events oldest first, its backend)."""
        _, job_id, backend = self._job_or_id(reference, viewer)
        with provider_errors():
            page, _ = self._backends.get(backend).events(job_id, limit=max(1, min(count, 100)))
        return job_id, list(reversed(page)), backend

    def checkpoints(self, reference: str, viewer: Viewer) -> CheckpointList:
        """The job's checkpoint list: its checkpoints and final model, the current choice."""
        job, job_id, backend = self._job_or_id(reference, viewer)
        snapshot = self._snapshot(backend, job_id)
        final = snapshot.fine_tuned_model or ""
        with provider_errors():
            found = self._backends.get(backend).checkpoints(job_id)
        if job is not None:
            return self._watcher.lists.listing(job, final_model=final, checkpoints=found)
        rows = checkpoint_rows(  # a job started elsewhere: nothing of it is stored
            checkpoints=found, final_model=final, final_metrics=None, chosen=None, epochs=None
        )
        return CheckpointList(job_id=job_id, title=job_id, rows=rows)

    def refresh_checkpoints(self, job: JobRecord) -> tuple[CheckpointList, bool]:
        """The job's checkpoint list after a choice, edited in place in its thread; whether
        the thread had one to edit."""
        with provider_errors():
            return self._watcher.refresh_checkpoints(job)

    def chart(self, *, reference: str, viewer: Viewer) -> Message:
        """Upload the loss chart into the job's thread."""
        job = self._service.resolve(reference, viewer)
        snapshot = self._snapshot(job.backend, job.remote_id or "")
        stamp = int(self._clock.now().timestamp())
        self._watcher.post_chart(job, snapshot, key=marker(job, "chart", f"request-{stamp}"))
        return say("Posted the loss chart of ", Code(job.remote_id or ""), " in its thread.")

    def choose(self, *, viewer: Viewer, model: str) -> tuple[JobRecord, str]:
        """Make a checkpoint (or the final model) the default for `/finetune try`.

        The choice must be the job's final model or one of the checkpoints the job made."""
        record = self._models.of_checkpoint(model)
        final = record.name if record else model
        job = self._jobs.by_fine_tuned_model(final) if record and not record.deleted else None
        if record is None or job is None or not may_see(viewer, record.channel_id):
            raise UserError(say("I don't know the model ", Code(final), "."))
        if not may_change(viewer, conversation_id=record.channel_id, owner_id=job.owner_id):
            self._service.require_modify(viewer, job)  # says who may
        require_served(
            model, backend=job.backend, base=record.base_model, today=self._clock.now().date()
        )
        if model != final:
            with provider_errors():
                gateway = self._backends.get(job.backend)
                made = {c.model for c in gateway.checkpoints(job.remote_id or "")}
            if model not in made:
                raise UserError(say(Code(model), " is not a checkpoint of ", Code(final), "."))
        now = self._clock.now()
        self._models.choose(name=final, chosen=model, now=now, by=viewer.user_id)
        self._jobs.choose_model(job_id=job.id, chosen=model, now=now)
        return job, model

    def adopt(self, *, viewer: Viewer, reference: str, channel_id: str) -> JobRecord:
        """An admin brings a job started elsewhere into this channel."""
        actor = viewer.user_id
        decision = may_adopt(actor_id=actor, admins=(), workspace_admin=viewer.admin)
        if not decision.allowed:
            raise UserError(say("You can't do that: ", decision.reason, "."))
        job_id = reference.strip()
        backend = self._backends.of_job_id(job_id)
        existing = self._jobs.by_remote_id(backend=backend, remote_id=job_id)
        if existing:
            where = (
                say(Conversation(existing.channel_id))
                if may_see(viewer, existing.channel_id)
                else say("another conversation")
            )
            raise UserError(say(Code(job_id), " is already watched in ", where, "."))
        snapshot = self._snapshot(backend, job_id)
        owner = snapshot.metadata.get("slack_user") or actor
        now = self._clock.now()
        record, _ = self._jobs.add_request(
            request_key=f"adopt:{backend}:{job_id}",
            now=now,
            request=NewJob(
                remote_id=job_id,
                channel_id=channel_id,
                owner_id=owner,
                model=snapshot.model,
                state=JobState.CREATED,
                status=snapshot.status,
                backend=backend,
            ),
        )
        ts = self._notifier.post_adopted(job=record, adopter=actor)
        self._jobs.set_status_message(job_id=record.id, ts=ts, thread_ts=ts, now=now)
        return record
