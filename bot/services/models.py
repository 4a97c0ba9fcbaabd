"""After training: listings, trying a model, deleting one, and what fine-tuning has cost."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.jobs import NOT_CONFIGURED, ServiceError
from bot.core.models import UnknownModelError, resolve_model
from bot.core.usage import Usage, usage
from bot.openai_gateway import WatchGateway
from bot.services.jobs import JobService, UserError
from bot.services.ports import Clock
from storage.fine_tuned import ModelRecord, ModelRepository
from storage.jobs import JobRecord, JobRepository
from storage.repositories import DatasetRecord, DatasetRepository


@dataclass(frozen=True, slots=True)
class JobLine:
    """A job in a listing, with its progress."""

    job: JobRecord
    step: int
    total_steps: int


@dataclass(frozen=True, slots=True)
class Home:
    """What a user's Home tab shows."""

    running: list[JobLine]
    models: list[ModelRecord]
    datasets: list[DatasetRecord]


def _price(model: str) -> float | None:
    try:
        return resolve_model(model).training_usd_per_1m
    except UnknownModelError:
        return None


class ModelService:
    """Use cases on jobs and models once they exist."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        models: ModelRepository,
        datasets: DatasetRepository,
        gateway: WatchGateway | None,
        job_service: JobService,
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self._models = models
        self._datasets = datasets
        self._gateway = gateway
        self._job_service = job_service
        self._clock = clock

    def jobs(self, *, scope: str, user_id: str, channel_id: str) -> list[JobLine]:
        """`jobs` (this channel), `jobs mine`, `jobs all`."""
        records = self._jobs.listing(
            channel_id=channel_id if scope == "channel" else None,
            owner_id=user_id if scope == "mine" else None,
        )
        return [JobLine(job, *self._jobs.progress(job.id)) for job in records]

    def models(self) -> list[ModelRecord]:
        """Every fine-tuned model the bot knows, newest first."""
        return self._models.listing()

    def try_model(self, *, channel_id: str, model: str | None, prompt: str) -> tuple[str, str]:
        """Answer `prompt` with `model` (default: the channel's chosen checkpoint or model)."""
        name = model or self._models.default_for_channel(channel_id)
        if not name:
            raise UserError(
                "No fine-tuned model in this channel yet. Name one: `/finetune try <model> <prompt>`."
            )
        record = self._models.get(name.split(":ckpt-step-")[0])
        if record and record.deleted:
            raise UserError(f"`{name}` was deleted.")
        if self._gateway is None:
            raise UserError(NOT_CONFIGURED)
        try:
            answer, _, _ = self._gateway.chat(
                model=name, messages=[{"role": "user", "content": prompt}]
            )
        except ServiceError as error:
            if error.kind in ("not_found", "invalid_request"):
                raise UserError(
                    f"`{name}` can't answer: it may be retired, deleted, or still loading "
                    f"({error})."
                ) from None
            raise UserError(error.explained) from None
        return name, answer

    def check_delete(self, *, actor: str, model: str) -> ModelRecord:
        """The model, if `actor` may delete it (owner or admin); else UserError."""
        record = self._models.get(model)
        if record is None or record.deleted:
            raise UserError(f"I don't know a model `{model}` (see `/finetune models`).")
        job = self._jobs.by_fine_tuned_model(model)
        if job is None:
            raise UserError(f"I don't know the job that made `{model}`.")
        self._job_service.require_modify(actor, job)
        return record

    def delete(self, *, actor: str, model: str) -> str:
        """Delete through the models API, record it, say so in the channel."""
        record = self.check_delete(actor=actor, model=model)
        if self._gateway is None:
            raise UserError(NOT_CONFIGURED)
        try:
            self._gateway.delete_model(model)
        except ServiceError as error:
            raise UserError(error.explained) from None
        self._models.mark_deleted(name=model, now=self._clock.now())
        job = self._jobs.by_fine_tuned_model(model)
        if job:
            self._job_service.announce(job=job, text=f"<@{actor}> deleted the model `{model}`.")
        return f"Deleted `{model}` (it was trained on `{record.base_model}`)."

    def usage(self) -> Usage:
        """Spend by user and channel, estimated and actual, this month and all time."""
        return usage(self._jobs.costs(), today=self._clock.now().date(), price=_price)

    def home(self, user_id: str) -> Home:
        """The user's running jobs, recent models and datasets."""
        running = [
            line
            for line in self.jobs(scope="mine", user_id=user_id, channel_id="")
            if line.job.state in ("created", "requested", "creating", "awaiting_approval")
        ]
        models = [m for m in self._models.listing() if m.owner_id == user_id][:10]
        datasets = self._datasets.by_uploader(uploader_id=user_id, limit=10)
        return Home(running=running[:20], models=models, datasets=datasets)
