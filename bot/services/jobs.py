"""Starting, approving and stopping fine-tuning jobs, with owners and exactly-once creation."""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core import commands
from bot.core.billing import BillingLine, billing_line
from bot.core.jobs import NOT_CONFIGURED, ServiceError, status_text
from bot.core.models import ModelInfo, UnknownModelError, resolve_model
from bot.core.permissions import may_approve, may_modify
from bot.openai_gateway import FineTuningGateway
from bot.services.ports import Clock, FileSource, JobNotifier
from storage.jobs import JobRecord, JobRepository
from storage.repositories import DatasetRecord, DatasetRepository

log = logging.getLogger(__name__)

PAST = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}
CREATE_ATTEMPTS = 3
UPLOAD_WAIT_S = 120.0


class UserError(Exception):
    """A refusal or a problem, in one line for the user who asked."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a start request would do."""

    dataset: DatasetRecord
    validation: DatasetRecord | None
    model: ModelInfo
    epochs: int
    estimate: BillingLine


@dataclass(frozen=True, slots=True)
class JobPolicy:
    """Settings the job service needs."""

    admins: tuple[str, ...]
    approval_usd: float | None
    default_model: str


class JobService:
    """Use cases around fine-tuning jobs (start, approve, retry, cancel/pause/resume, cost)."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        datasets: DatasetRepository,
        files: FileSource,
        gateway: FineTuningGateway | None,
        notifier: JobNotifier,
        clock: Clock,
        executor: Executor,
        policy: JobPolicy,
        is_workspace_admin: Callable[[str], bool],
    ) -> None:
        self._jobs = jobs
        self._datasets = datasets
        self._files = files
        self._gateway = gateway
        self._notifier = notifier
        self._clock = clock
        self._executor = executor
        self._policy = policy
        self._is_workspace_admin = is_workspace_admin

    @property
    def gateway(self) -> FineTuningGateway | None:
        """The OpenAI gateway (None when OPENAI_API_KEY is not set)."""
        return self._gateway

    # ---- reading -----------------------------------------------------------------------------

    def dataset(self, reference: str, channel_id: str) -> DatasetRecord:
        """Resolve a dataset reference or explain why not."""
        found = self._datasets.find(reference=reference, channel_id=channel_id)
        if found is None:
            what = "valid dataset in this channel" if reference == "latest" else f"`{reference}`"
            raise UserError(
                f"I can't find {what}. `/finetune datasets` lists this channel's datasets."
            )
        return found

    def by_file(self, slack_file_id: str) -> DatasetRecord | None:
        """The dataset of a Slack file."""
        return self._datasets.get(slack_file_id=slack_file_id)

    def estimate(self, dataset: DatasetRecord, model: ModelInfo, epochs: int | None) -> BillingLine:
        """The cost of training `model` on `dataset` for `epochs` (default: the service's)."""
        report = dataset.report or {}
        per_epoch = None
        if report.get("model") == model.id:
            per_epoch = report.get("billed_tokens_per_epoch")
        for line in report.get("other_models") or []:
            if line.get("model") == model.id:
                per_epoch = line.get("billed_tokens_per_epoch")
        if per_epoch is None:
            raise UserError(f"I have no token count of `{dataset.name}` for `{model.id}`.")
        chosen = epochs or int(report.get("default_epochs") or 3)
        return billing_line(model, int(per_epoch), chosen, self._clock.now().date())

    def cost(self, cmd: commands.Cost, channel_id: str) -> tuple[DatasetRecord, BillingLine]:
        """`/finetune cost`."""
        dataset = self.dataset(cmd.dataset, channel_id)
        model = resolve_model(cmd.model or self._policy.default_model)
        return dataset, self.estimate(dataset, model, cmd.epochs)

    def plan(self, cmd: commands.Start, channel_id: str) -> Plan:
        """Check a start request: valid dataset, trainable model, matching method."""
        dataset = self.dataset(cmd.dataset, channel_id)
        if not dataset.valid:
            raise UserError(
                f"`{dataset.name}` needs fixes before it can be trained (see its report in the "
                "thread where it was shared)."
            )
        try:
            model = resolve_model(cmd.model or self._policy.default_model)
        except UnknownModelError as error:
            raise UserError(str(error)) from None
        today = self._clock.now().date()
        if not model.is_trainable(today):
            raise UserError(f"`{model.id}` was shut down on {model.shutdown} and can't be trained.")
        if cmd.method not in model.methods:
            raise UserError(f"`{model.id}` can't be trained with method `{cmd.method}`.")
        wanted = ("dpo",) if cmd.method == "dpo" else ("chat", "chat_tools")
        if dataset.format not in wanted:
            raise UserError(
                f"`{dataset.name}` is {dataset.format} data; method `{cmd.method}` needs "
                f"{' or '.join(wanted)} data."
            )
        validation = None
        if cmd.validation:
            validation = self.dataset(cmd.validation, channel_id)
            if not validation.valid or validation.format not in wanted:
                raise UserError(f"`{validation.name}` can't be the validation file for this job.")
        estimate = self.estimate(dataset, model, cmd.epochs)
        return Plan(dataset, validation, model, estimate.epochs, estimate)

    # ---- starting ----------------------------------------------------------------------------

    def request_start(
        self, *, actor: str, channel_id: str, cmd: commands.Start, request_key: str
    ) -> str:
        """Record a start request once (by its key); create the job now or ask for approval."""
        self._require_gateway()
        plan = self.plan(cmd, channel_id)
        threshold = self._policy.approval_usd
        needs_approval = threshold is not None and plan.estimate.cost_usd > threshold
        hyper = {
            "n_epochs": cmd.epochs,
            "batch_size": cmd.batch,
            "learning_rate_multiplier": cmd.lr,
        }
        job, created = self._jobs.add_request(
            request_key=request_key,
            now=self._clock.now(),
            dataset_id=plan.dataset.id,
            validation_dataset_id=plan.validation.id if plan.validation else None,
            channel_id=plan.dataset.channel_id,
            thread_ts=plan.dataset.thread_ts,
            owner_id=actor,
            model=plan.model.id,
            method=cmd.method,
            hyperparameters={k: v for k, v in hyper.items() if v is not None},
            suffix=cmd.suffix,
            seed=cmd.seed,
            state="awaiting_approval" if needs_approval else "requested",
            estimated_cost_usd=plan.estimate.cost_usd,
            estimated_tokens=plan.estimate.billed_tokens,
        )
        if not created:
            return "That request was already received; I'm on it (see the dataset's thread)."
        cost = f"${plan.estimate.cost_usd:,.2f}"
        if needs_approval:
            ts = self._notifier.post_approval_request(
                job=job, dataset=plan.dataset, threshold=threshold or 0, epochs=plan.epochs
            )
            self._jobs.update(request_key=request_key, now=self._clock.now(), approval_ts=ts)
            return (
                f"The estimate ({cost}) is above the ${threshold:,.2f} approval threshold: I asked "
                "an admin to approve it in the dataset's thread."
            )
        self._executor.submit(self._create_guarded, request_key)
        return (
            f"Starting fine-tuning of `{plan.model.id}` on `{plan.dataset.name}` "
            f"({plan.epochs} epochs, estimated {cost}). I'll post the job in the dataset's thread."
        )

    def approve(self, *, actor: str, request_key: str) -> str:
        """An admin's approval: the job is created once."""
        job = self._job_by_key(request_key)
        decision = may_approve(
            actor_id=actor,
            requester_id=job.owner_id,
            admins=self._policy.admins,
            workspace_admin=self._is_workspace_admin(actor),
        )
        if not decision.allowed:
            raise UserError(f"You can't approve this: {decision.reason}.")
        if not self._jobs.transition(
            request_key=request_key,
            from_states=("awaiting_approval",),
            now=self._clock.now(),
            state="approved",
            approver_id=actor,
        ):
            return "This request was already approved."
        dataset = self._datasets.by_id(job.dataset_id or 0)
        if dataset is not None:
            self._notifier.mark_approved(job=job, dataset=dataset, approver_id=actor)
        self._executor.submit(self._create_guarded, request_key)
        return "Approved: starting the job."

    def retry(self, *, actor: str, request_key: str) -> str:
        """Try a failed (retryable) creation again: the requester or an admin."""
        job = self._job_by_key(request_key)
        self.require_modify(actor, job)
        if job.state != "retryable":
            return "That request is not waiting for a retry."
        self._executor.submit(self._create_guarded, request_key)
        return "Trying again."

    def _create_guarded(self, request_key: str) -> None:
        try:
            self.create(request_key)
        except Exception:
            log.exception("creating job %s failed", request_key)
            job = self._jobs.by_key(request_key)
            if job and job.state == "creating":
                self._jobs.update(request_key=request_key, now=self._clock.now(), state="retryable")
                self._notifier.post_job_error(
                    job=job,
                    text="Something went wrong on my side while starting the job; nothing was "
                    "lost and you can try again.",
                    retry=True,
                )

    def create(self, request_key: str) -> None:
        """Upload the data once and create the job once (an idempotency key guards both)."""
        if not self._jobs.transition(
            request_key=request_key,
            from_states=("requested", "approved", "retryable"),
            now=self._clock.now(),
            state="creating",
        ):
            return
        job = self._job_by_key(request_key)
        dataset = self._datasets.by_id(job.dataset_id or 0)
        assert dataset is not None
        try:
            snapshot = self._create_on_openai(job, dataset)
        except ServiceError as error:
            text = error.explained
            state = "retryable" if error.retryable else "failed"
            self._jobs.update(
                request_key=request_key, now=self._clock.now(), state=state, error=text
            )
            self._notifier.post_job_error(job=job, text=text, retry=error.retryable)
            return
        self._jobs.update(
            request_key=request_key,
            now=self._clock.now(),
            state="created",
            openai_job_id=snapshot.id,
            status=snapshot.status,
        )
        job = self._job_by_key(request_key)
        epochs = int((job.hyperparameters or {}).get("n_epochs") or 0) or int(
            (dataset.report or {}).get("default_epochs") or 3
        )
        ts = self._notifier.post_job(job=job, dataset=dataset, snapshot=snapshot, epochs=epochs)
        self._jobs.update(request_key=request_key, now=self._clock.now(), status_ts=ts)

    def _create_on_openai(self, job: JobRecord, dataset: DatasetRecord) -> Any:
        gateway = self._require_gateway()
        training = self.ensure_uploaded(dataset)
        validation = None
        if job.validation_dataset_id:
            other = self._datasets.by_id(job.validation_dataset_id)
            validation = self.ensure_uploaded(other) if other else None
        hyper = job.hyperparameters or {}
        params = {
            "model": job.model,
            "training_file": training,
            "validation_file": validation,
            "method": {"type": job.method, job.method: {"hyperparameters": hyper}},
            "suffix": job.suffix,
            "seed": job.seed,
        }
        metadata = {
            "slack_user": job.owner_id,
            "slack_channel": job.channel_id,
            "dataset": dataset.slack_file_id,
            "ftbot_request": job.request_key[:512],
        }
        for attempt in range(CREATE_ATTEMPTS):
            try:
                return gateway.create_job(metadata=metadata, **params)
            except ServiceError as error:
                if not error.retryable:
                    raise
                # The request may have reached OpenAI before failing: look before re-sending.
                found = gateway.find_job(key="ftbot_request", value=metadata["ftbot_request"])
                if found:
                    return found
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def ensure_uploaded(self, dataset: DatasetRecord) -> str:
        """The dataset's OpenAI file id, uploading it unless the same content already was."""
        gateway = self._require_gateway()
        now = self._clock.now()
        if dataset.openai_file_id and dataset.openai_file_id.startswith("file-"):
            return dataset.openai_file_id
        if dataset.sha256:
            earlier = self._datasets.uploaded_with_sha(sha256=dataset.sha256)
            if earlier:
                self._datasets.set_openai_file(
                    dataset_id=dataset.id, openai_file_id=earlier, now=now
                )
                return earlier
        token = f"uploading:{uuid.uuid4().hex}"
        if not self._datasets.claim_upload(dataset_id=dataset.id, token=token, now=now):
            return self._wait_for_upload(dataset.id)
        try:
            remote = self._files.info(dataset.slack_file_id, dataset.channel_id)
            with tempfile.TemporaryDirectory(prefix="ftbot-up-") as tmp:
                path = Path(tmp) / Path(dataset.name).name
                self._files.download(remote, path, max_bytes=max(remote.size, 1) * 2)
                file_id = gateway.upload(path, name=dataset.name)
        except BaseException:
            self._datasets.set_openai_file(dataset_id=dataset.id, openai_file_id=None, now=now)
            raise
        self._datasets.set_openai_file(
            dataset_id=dataset.id, openai_file_id=file_id, now=self._clock.now()
        )
        return file_id

    def _wait_for_upload(self, dataset_id: int) -> str:
        deadline = time.monotonic() + UPLOAD_WAIT_S
        while time.monotonic() < deadline:
            record = self._datasets.by_id(dataset_id)
            if record and record.openai_file_id and record.openai_file_id.startswith("file-"):
                return record.openai_file_id
            if record and record.openai_file_id is None:
                raise ServiceError("unavailable", "the upload of this dataset failed")
            time.sleep(0.2)
        raise ServiceError("unavailable", "the upload of this dataset is taking too long")

    def upload_only(self, *, actor: str, slack_file_id: str) -> None:
        """The report's *Upload only* button: upload (once) and say where it went."""
        dataset = self._datasets.get(slack_file_id=slack_file_id)
        if dataset is None or not dataset.valid:
            raise UserError("Only a dataset that is ready to train can be uploaded.")
        self._require_gateway()
        try:
            file_id = self.ensure_uploaded(dataset)
        except ServiceError as error:
            text = error.explained
        else:
            text = (
                f"<@{actor}> uploaded `{dataset.name}` to OpenAI: `{file_id}` (purpose "
                f"`fine-tune`). `/finetune start {file_id}` trains on it."
            )
        self._notifier.post_text(channel=dataset.channel_id, thread_ts=dataset.thread_ts, text=text)

    # ---- stopping ----------------------------------------------------------------------------

    def resolve(self, reference: str) -> JobRecord:
        """A started job by its OpenAI id or an unambiguous prefix of it."""
        matches = self._jobs.matching(reference.strip())
        started = [j for j in matches if j.openai_job_id]
        if not started:
            raise UserError(f"No job matches `{reference}`. `/finetune jobs` lists them.")
        if len(started) > 1:
            ids = ", ".join(f"`{j.openai_job_id}`" for j in started)
            raise UserError(f"`{reference}` matches several jobs ({ids}); give more of the id.")
        return started[0]

    def act(self, *, actor: str, action: str, reference: str) -> str:
        """cancel / pause / resume: the owner or an admin; anyone else is refused before OpenAI."""
        job = self.resolve(reference)
        self.require_modify(actor, job)
        gateway = self._require_gateway()
        try:
            snapshot = gateway.act(action, job.openai_job_id or "")
        except ServiceError as error:
            raise UserError(error.explained) from None
        self._jobs.update(
            request_key=job.request_key, now=self._clock.now(), status=snapshot.status
        )
        self._notifier.post_text(
            channel=job.channel_id,
            thread_ts=job.thread_ts,
            text=f"<@{actor}> {PAST[action]} job `{job.openai_job_id}` "
            f"(now {status_text(snapshot.status)}).",
        )
        return f"Job `{job.openai_job_id}` {PAST[action]} (now {status_text(snapshot.status)})."

    # ---- helpers -----------------------------------------------------------------------------

    def require_modify(self, actor: str, job: JobRecord) -> None:
        """Refuse (UserError) unless `actor` owns the job or is an admin."""
        decision = may_modify(
            actor_id=actor,
            owner_id=job.owner_id,
            admins=self._policy.admins,
            workspace_admin=actor != job.owner_id and self._is_workspace_admin(actor),
        )
        if not decision.allowed:
            raise UserError(f"You can't do that: {decision.reason}.")

    def announce(self, *, job: JobRecord, text: str) -> None:
        """A line in the job's thread (state changes are visible to the channel)."""
        self._notifier.post_text(
            channel=job.channel_id, thread_ts=job.thread_ts or job.status_ts, text=text
        )

    def is_admin(self, actor: str) -> bool:
        """FTBOT_ADMINS member or Slack workspace admin/owner."""
        return actor in self._policy.admins or self._is_workspace_admin(actor)

    def _require_gateway(self) -> FineTuningGateway:
        if self._gateway is None:
            raise UserError(NOT_CONFIGURED)
        return self._gateway

    def _job_by_key(self, request_key: str) -> JobRecord:
        job = self._jobs.by_key(request_key)
        if job is None:
            raise UserError("I don't know that job request any more.")
        return job
