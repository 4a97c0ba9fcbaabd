"""After training: listings, trying a model, deleting one, and what fine-tuning has cost."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.access import Viewer, may_see, visible
from bot.core.jobs import ACTIVE_STATES, TERMINAL, ServiceError
from bot.core.message import Code, Mention, Message, Text, say
from bot.core.models import UnknownModelError, inference_notice, resolve_model
from bot.core.usage import Usage, usage
from bot.services.backends import AZURE, OPENAI, Backends
from bot.services.errors import UserError, provider_errors
from bot.services.jobs import JobService
from bot.services.ports import Clock
from storage.deployments import DeploymentRepository
from storage.fine_tuned import ModelRecord, ModelRepository
from storage.jobs import JobRecord, JobRepository
from storage.repositories import DatasetRecord, DatasetRepository


@dataclass(frozen=True, slots=True)
class JobLine:
    """A job in a listing, with its progress."""

    job: JobRecord
    step: int
    total_steps: int
    dataset: str | None = None  # the training dataset's name (None: a job started elsewhere)


@dataclass(frozen=True, slots=True)
class Home:
    """What a user's Home tab shows."""

    running: list[JobLine]
    models: list[ModelRecord]
    datasets: list[DatasetRecord]


def unknown_model(name: str) -> Message:
    """The answer for a model that does not exist, or that the asker may not see."""
    return say("I don't know a model ", Code(name), " (see `/finetune models`).")


def not_deployed(model: str) -> Message:
    """What `try`/`compare` say about an Azure model without a recorded deployment."""
    return say(
        Code(model),
        " is an Azure OpenAI model: it answers only through a deployment. ",
        Code(f"/finetune deploy {model}"),
        " makes one (or records yours with ",
        Code("name=<deployment>"),
        ").",
    )


def chat_name(record: ModelRecord | None, name: str, deployments: DeploymentRepository) -> str:
    """The model name to send to the backend's chat completions: an Azure model's recorded
    deployment (never the bare model name, which Azure would read as a deployment), else the
    name itself; UserError for an Azure model without one."""
    if record is None or record.backend != AZURE:
        return name
    deployment = deployments.deployment_of(backend=AZURE, model=name)
    if deployment is None:
        raise UserError(not_deployed(name))
    return deployment


def training_price(model: str, backend: str | None = None) -> float | None:
    """USD per 1M trained tokens on `backend` (its catalogue entry: Azure OpenAI's GPT models
    share OpenAI's names, not its prices); None for a model the backend quotes itself
    (Together AI's: no per-token rate is known offline), one whose price is unknown (Azure
    OpenAI's) or one not in the catalogue."""
    try:
        info = resolve_model(model, backend)
    except UnknownModelError:
        return None
    return None if info.quoted else info.training_usd_per_1m


def require_served(name: str, *, backend: str, base: str | None, today: dt.date) -> None:
    """Refuse (one line, before calling the backend) a fine-tuned model whose family no longer
    answers. Only fine-tuned models are checked: a stored one (`base` known) or an `ft:` name."""
    if base is None and not name.strip().startswith("ft:"):
        return
    notice = inference_notice(name, today, backend, base=base)
    if notice is not None and notice.ended:
        raise UserError(say(Code(name), f" {notice.words(today)}: OpenAI no longer serves it."))


class ModelService:
    """Use cases on jobs and models once they exist."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        models: ModelRepository,
        deployments: DeploymentRepository,
        datasets: DatasetRepository,
        backends: Backends,
        job_service: JobService,
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self._models = models
        self._deployments = deployments
        self._datasets = datasets
        self._backends = backends
        self._job_service = job_service
        self._clock = clock

    def jobs(self, *, scope: str, viewer: Viewer, channel_id: str) -> list[JobLine]:
        """`jobs` (this channel), `jobs mine`, `jobs all`: only jobs the viewer may see."""
        if scope == "channel" and not may_see(viewer, channel_id):
            return []
        records = self._jobs.listing(
            channel_id=channel_id if scope == "channel" else None,
            owner_id=viewer.user_id if scope == "mine" else None,
        )
        shown = visible(viewer, records, lambda job: job.channel_id)
        progress = self._jobs.progress_of([job.id for job in shown])
        names = self._datasets.names_of({job.dataset_id for job in shown if job.dataset_id})
        return [
            JobLine(job, *progress.get(job.id, (0, 0)), dataset=names.get(job.dataset_id or 0))
            for job in shown
        ]

    def models(self, viewer: Viewer) -> list[ModelRecord]:
        """The fine-tuned models the viewer may see, newest first."""
        return visible(viewer, self._models.listing(), lambda model: model.channel_id)

    def visible_model(self, name: str, viewer: Viewer) -> ModelRecord | None:
        """The stored model a name (or one of its checkpoints) stands for, if the viewer may see
        it; raises UserError for a model of ours they may not see or that was deleted."""
        record = self._models.of_checkpoint(name)
        if record is None:
            return None
        if not may_see(viewer, record.channel_id):
            raise UserError(unknown_model(name))
        if record.deleted:
            raise UserError(say(Code(name), " was deleted."))
        return record

    def default_name(self, *, viewer: Viewer, channel_id: str) -> str | None:
        """The model `try` asks when none is named: the channel's chosen checkpoint or model."""
        return self._models.default_for_channel(channel_id) if may_see(viewer, channel_id) else None

    def try_model(
        self, *, viewer: Viewer, channel_id: str, model: str | None, prompt: str
    ) -> tuple[str, str]:
        """Answer `prompt` with `model` (default: the channel's chosen checkpoint or model)."""
        name = model or self.default_name(viewer=viewer, channel_id=channel_id)
        if not name:
            raise UserError(
                say(
                    "No fine-tuned model in this channel yet. Name one: "
                    "`/finetune try <model> <prompt>`."
                )
            )
        # Models the bot made belong to their job's conversation; others (base models, models
        # made outside the bot) belong to none and are the organisation's to try.
        record = self.visible_model(name, viewer)
        backend = record.backend if record else OPENAI
        require_served(
            name,
            backend=backend,
            base=record.base_model if record else None,
            today=self._clock.now().date(),
        )
        gateway = self._backends.get(backend)
        chat_model = chat_name(record, name, self._deployments)
        try:
            answer, _, _ = gateway.chat(
                model=chat_model, messages=[{"role": "user", "content": prompt}]
            )
        except ServiceError as error:
            if chat_model != name and error.kind == "not_found":
                raise UserError(
                    say(
                        "The deployment ",
                        Code(chat_model),
                        " of ",
                        Code(name),
                        " is gone (Azure deletes Developer-tier deployments after 24 h): ",
                        Code(f"/finetune deploy {name}"),
                        " makes it again.",
                    )
                ) from None
            if error.kind in ("not_found", "invalid_request"):
                raise UserError(
                    say(
                        Code(name),
                        " can't answer: it may be retired, deleted, or still loading (",
                        Text(str(error)[:300]),
                        ").",
                    )
                ) from None
            raise UserError(error.explained) from None
        return name, answer

    def check_delete(self, *, viewer: Viewer, model: str) -> ModelRecord:
        """The model, if the viewer may delete it (owner or admin who may see it); else UserError."""
        record = self._models.get(model)
        if record is None or record.deleted or not may_see(viewer, record.channel_id):
            raise UserError(unknown_model(model))
        job = self._jobs.by_fine_tuned_model(model)
        if job is None:
            raise UserError(say("I don't know the job that made ", Code(model), "."))
        self._job_service.require_modify(viewer, job)
        return record

    def delete(self, *, viewer: Viewer, model: str) -> Message:
        """Delete through the models API, record it, say so in the channel."""
        actor = viewer.user_id
        record = self.check_delete(viewer=viewer, model=model)
        with provider_errors():
            self._backends.get(record.backend).delete_model(model)
        self._models.mark_deleted(name=model, now=self._clock.now())
        job = self._jobs.by_fine_tuned_model(model)
        if job:
            self._job_service.announce(
                job=job, text=say(Mention(actor), " deleted the model ", Code(model), ".")
            )
        return say("Deleted ", Code(model), " (it was trained on ", Code(record.base_model), ").")

    def usage(self, viewer: Viewer) -> Usage:
        """Spend by user and channel, estimated and actual, this month and all time (of the
        conversations the viewer may see)."""
        costs = visible(viewer, self._jobs.costs(), lambda cost: cost.channel_id)
        return usage(costs, today=self._clock.now().date(), price=training_price)

    def home(self, viewer: Viewer) -> Home:
        """The user's running jobs, recent models and datasets (that they may still see)."""
        user_id = viewer.user_id
        running = [
            line
            for line in self.jobs(scope="mine", viewer=viewer, channel_id="")
            # still watched (its last notices not yet posted) but finished: not running
            if line.job.state in ACTIVE_STATES and (line.job.status or "") not in TERMINAL
        ]
        models = [m for m in self.models(viewer) if m.owner_id == user_id][:10]
        datasets = visible(
            viewer,
            self._datasets.by_uploader(uploader_id=user_id, limit=50),
            lambda d: d.channel_id,
        )[:10]
        return Home(running=running[:20], models=models, datasets=datasets)
