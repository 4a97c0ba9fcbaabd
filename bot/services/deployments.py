"""`/finetune deploy <model> [name=<deployment>]`: the deployment an Azure model answers through.

A fine-tuned Azure OpenAI model answers only through a deployment (product §9). The owner or an
admin records one made elsewhere, or — when the control plane is configured — the bot creates a
Developer-tier one, exactly once across clicks and replicas (a claim in the store), with one
status message in the model's job thread edited as Azure goes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Protocol

from bot.core.access import Viewer, may_see
from bot.core.backend_names import backend_name
from bot.core.message import Code, Mention, Message, Text, say
from bot.core.models import UnknownModelError, resolve_model
from bot.services.backends import AZURE
from bot.services.errors import UserError
from bot.services.jobs import JobService
from bot.services.models import unknown_model
from bot.services.ports import Clock
from storage.deployments import DeploymentRepository
from storage.fine_tuned import ModelRecord, ModelRepository
from storage.jobs import JobRecord, JobRepository

log = logging.getLogger(__name__)

# A creator that died mid-way gives the claim up after this long (Azure's own wait is bounded
# by the control plane's limit, 30 minutes).
CLAIM_LEASE = dt.timedelta(minutes=45)


class DeployError(Exception):
    """The control plane refused or failed; `message` is one line for the user."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


class ControlPlane(Protocol):
    """Azure's control plane for one resource (bot/backends/azure_control.py)."""

    @property
    def resource(self) -> str: ...

    def create(self, *, name: str, model: str, on_status: Callable[[str], None]) -> None: ...

    def exists(self, name: str) -> bool: ...


class ThreadNotifier(Protocol):
    """Posts and edits one line in a thread."""

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str: ...

    def update_text(self, *, channel: str, ts: str, text: Message) -> None: ...


def deployment_name(model: str) -> str:
    """The name the bot gives a model's deployment: the same for every replica and click, so
    even two creators would PUT one deployment (Azure: letters, digits, `-`, `_`, `.`)."""
    return "ftbot-" + hashlib.sha256(model.encode()).hexdigest()[:16]


def how_to_deploy(model: str) -> Message:
    """How to deploy by hand, when the bot has no access to Azure's control plane."""
    name = deployment_name(model)
    cli = (
        "az cognitiveservices account deployment create -g <resource-group> -n <resource> "
        f"--deployment-name {name} --model-name {model} --model-version 1 --model-format OpenAI "
        f"--sku-name developertier --sku-capacity 50"
    )
    return say(
        "Azure serves ",
        Code(model),
        " only through a deployment. Deploy it in the Azure AI Foundry portal (Deployments → "
        "Deploy model → Deploy fine-tuned model) or with the Azure CLI: ",
        Code(cli),
        " — then record it: ",
        Code(f"/finetune deploy {model} name={name}"),
        ". (With AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and AZURE_OPENAI_RESOURCE set, "
        "the bot deploys it itself.)",
    )


def is_azure_base(model: str) -> bool:
    """True when `model` is a base model in Azure OpenAI's catalogue."""
    try:
        resolve_model(model, AZURE)
    except UnknownModelError:
        return False
    return True


def base_not_deployed(model: str) -> Message:
    """How a base model gets the deployment compare asks it through (Azure answers only
    through deployments, never by the bare model id)."""
    return say(
        "Azure OpenAI answers the base model ",
        Code(model),
        " only through a deployment: deploy it in Azure AI Foundry, then an admin records it with ",
        Code(f"/finetune deploy {model} name=<deployment>"),
        ".",
    )


class DeploymentService:
    """Records or creates the deployment of an Azure model."""

    def __init__(
        self,
        *,
        models: ModelRepository,
        jobs: JobRepository,
        deployments: DeploymentRepository,
        job_service: JobService,
        control: ControlPlane | None,
        notifier: ThreadNotifier,
        clock: Clock,
        executor: Executor,
    ) -> None:
        self._models = models
        self._jobs = jobs
        self._deployments = deployments
        self._job_service = job_service
        self._control = control
        self._notifier = notifier
        self._clock = clock
        self._executor = executor

    def check(self, *, viewer: Viewer, model: str) -> tuple[ModelRecord, JobRecord]:
        """The Azure model and its job, if the viewer may deploy it (owner or admin who may see
        it); else UserError (a model they may not see answers like a missing one)."""
        record = self._models.of_checkpoint(model)
        if record is None or record.deleted or not may_see(viewer, record.channel_id):
            raise UserError(unknown_model(model))
        if record.backend != AZURE:
            title = backend_name(record.backend)
            raise UserError(
                say(
                    "Only Azure OpenAI models need a deployment: ",
                    Code(model),
                    f" is on {title} and answers ",
                    Code("/finetune try"),
                    " as it is.",
                )
            )
        job = self._jobs.by_fine_tuned_model(record.name)
        if job is None:
            raise UserError(say("I don't know the job that made ", Code(model), "."))
        self._job_service.require_modify(viewer, job)
        return record, job

    def deploy(self, *, viewer: Viewer, model: str, name: str | None) -> Message:
        """Record `name` as the model's deployment, or create one; the answer for the asker.

        An Azure base model (compare asks it beside the fine-tuned one) is recorded too, by an
        admin: its deployment is shared by every comparison."""
        if self._models.of_checkpoint(model) is None and is_azure_base(model):
            return self._record_base(viewer=viewer, model=model, name=name)
        _, job = self.check(viewer=viewer, model=model)
        now = self._clock.now()
        if name is not None:
            self._deployments.record_existing(backend=AZURE, model=model, deployment=name, now=now)
            self._job_service.announce(
                job=job,
                text=say(
                    Mention(viewer.user_id),
                    " recorded the deployment ",
                    Code(name),
                    " for ",
                    Code(model),
                    ": ",
                    Code(f"/finetune try {model} <prompt>"),
                    " answers through it.",
                ),
            )
            return say(
                "Recorded: ", Code(model), " answers through the deployment ", Code(name), "."
            )
        if self._control is None:
            return how_to_deploy(model)
        return self._create(viewer=viewer, model=model, job=job, control=self._control)

    def _record_base(self, *, viewer: Viewer, model: str, name: str | None) -> Message:
        if not viewer.admin:
            raise UserError(
                say(
                    "Only an admin records the deployment of a base model such as ",
                    Code(model),
                    " (every comparison on Azure OpenAI shares it).",
                )
            )
        if name is None:
            raise UserError(base_not_deployed(model))
        self._deployments.record_existing(
            backend=AZURE, model=model, deployment=name, now=self._clock.now()
        )
        return say(
            "Recorded: the base model ",
            Code(model),
            " answers through the deployment ",
            Code(name),
            " (",
            Code("/finetune compare"),
            " asks it there).",
        )

    def _create(
        self, *, viewer: Viewer, model: str, job: JobRecord, control: ControlPlane
    ) -> Message:
        state = self._deployments.state(backend=AZURE, model=model)
        if state is not None and state.deployment is not None:
            if self._exists(control, state.deployment):
                return say(
                    Code(model),
                    " is deployed already as ",
                    Code(state.deployment),
                    ": ",
                    Code(f"/finetune try {model} <prompt>"),
                    ".",
                )
            self._deployments.forget_gone(backend=AZURE, model=model, deployment=state.deployment)
        name = deployment_name(model)
        token = uuid.uuid4().hex
        now = self._clock.now()
        if not self._deployments.claim_creation(
            backend=AZURE, model=model, token=token, now=now, lease=CLAIM_LEASE
        ):
            return say(
                Code(model), " is being deployed already: the progress is in its job's thread."
            )
        try:
            ts = self._notifier.post_text(
                channel=job.channel_id,
                thread_ts=job.thread_ts or job.status_ts,
                text=self._progress(viewer, model, name, "Starting"),
            )
        except Exception:
            self._deployments.release_creation(
                backend=AZURE, model=model, token=token, now=self._clock.now()
            )
            raise
        self._executor.submit(self._run, viewer, model, name, token, job, ts, control)
        return say(
            "Deploying ",
            Code(model),
            " as ",
            Code(name),
            " on ",
            Code(control.resource),
            ": the progress is in its job's thread.",
        )

    def _run(
        self,
        viewer: Viewer,
        model: str,
        name: str,
        token: str,
        job: JobRecord,
        ts: str,
        control: ControlPlane,
    ) -> None:
        """Wait for Azure, editing the one status message; record the deployment at the end."""

        def edit(text: Message) -> None:
            try:
                self._notifier.update_text(channel=job.channel_id, ts=ts, text=text)
            except Exception:  # progress is best effort; the outcome is edited in again below
                log.exception("could not edit the deployment status of %s", model)

        try:
            control.create(
                name=name,
                model=model,
                on_status=lambda status: edit(self._progress(viewer, model, name, status)),
            )
        except Exception as error:
            self._deployments.release_creation(
                backend=AZURE, model=model, token=token, now=self._clock.now()
            )
            if isinstance(error, DeployError):
                reason = error.message
            else:
                log.exception("deploying %s failed", model)
                reason = say("something went wrong on my side (it is in the bot's log).")
            edit(say(":x: Couldn't deploy ", Code(model), ": ", reason))
            return
        self._deployments.finish_creation(
            backend=AZURE, model=model, token=token, deployment=name, now=self._clock.now()
        )
        edit(
            say(
                ":white_check_mark: ",
                Mention(viewer.user_id),
                " deployed ",
                Code(model),
                " as ",
                Code(name),
                " (Developer tier: Azure deletes it after 24 h; ",
                Code(f"/finetune deploy {model}"),
                " makes it again). Try it: ",
                Code(f"/finetune try {model} <prompt>"),
            )
        )

    @staticmethod
    def _progress(viewer: Viewer, model: str, name: str, status: str) -> Message:
        return say(
            ":hourglass_flowing_sand: ",
            Mention(viewer.user_id),
            " is deploying ",
            Code(model),
            " as ",
            Code(name),
            " (Developer tier)… Azure: ",
            Text(status[:40]),
        )

    def _exists(self, control: ControlPlane, deployment: str) -> bool:
        try:
            return control.exists(deployment)
        except DeployError as error:
            raise UserError(error.message) from None
