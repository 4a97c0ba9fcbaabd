"""`/finetune compare`: base model and fine-tuned model answer the same held-out examples."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.core.access import Viewer, may_see
from bot.core.compare import Case, Outcome, Score, cases_from, score
from bot.core.datasets import iter_records
from bot.core.jobs import ServiceError, not_configured
from bot.core.message import Code, say
from bot.core.models import UnknownModelError, resolve_model
from bot.services.backends import AZURE, OPENAI, Backends
from bot.services.deployments import base_not_deployed
from bot.services.errors import UserError
from bot.services.jobs import JobService
from bot.services.models import chat_name, require_served, unknown_model
from bot.services.ports import Clock, FileSource
from storage.deployments import DeploymentRepository
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRepository
from storage.repositories import DatasetRecord, DatasetRepository

CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of a comparison."""

    tuned_model: str
    base_model: str
    dataset: str
    outcomes: list[Outcome]
    base: Score
    tuned: Score
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class CompareService:
    """Runs comparisons with bounded concurrency, reporting progress as it goes."""

    def __init__(
        self,
        *,
        jobs: JobRepository,
        models: ModelRepository,
        deployments: DeploymentRepository,
        datasets: DatasetRepository,
        files: FileSource,
        backends: Backends,
        job_service: JobService,
        clock: Clock,
    ) -> None:
        self._clock = clock  # which fine-tuned model families still answer
        self._jobs = jobs
        self._models = models
        self._deployments = deployments
        self._datasets = datasets
        self._files = files
        self._backends = backends
        self._job_service = job_service

    def _dataset(
        self, model: str, reference: str | None, viewer: Viewer, channel_id: str
    ) -> DatasetRecord:
        if reference:
            return self._job_service.dataset(reference, viewer, channel_id)
        stored = self._models.of_checkpoint(model)
        job = self._jobs.by_fine_tuned_model(stored.name) if stored else None
        for dataset_id in (job.validation_dataset_id, job.dataset_id) if job else ():
            found = self._datasets.by_id(dataset_id) if dataset_id else None
            if found and may_see(viewer, found.channel_id):
                return found
        raise UserError(say("Name a dataset to compare on: `/finetune compare <model> <dataset>`."))

    def compare(
        self,
        *,
        viewer: Viewer,
        model: str,
        dataset: str | None,
        channel_id: str,
        limit: int,
        progress: Callable[[int, int], None],
    ) -> Comparison:
        """Ask both models each example; count exact and normalised matches; add up the cost."""
        record = self._models.of_checkpoint(model)
        if record is not None and (record.deleted or not may_see(viewer, record.channel_id)):
            raise UserError(unknown_model(model))
        backend = record.backend if record else OPENAI
        gateway = self._backends.get(backend)
        if not gateway.configured:
            raise UserError(say(not_configured(backend)))
        require_served(
            model,
            backend=backend,
            base=record.base_model if record else None,
            today=self._clock.now().date(),
        )
        tuned = chat_name(record, model, self._deployments)
        base = (
            record.base_model
            if record
            else (model.split(":")[1] if model.startswith("ft:") else "")
        )
        try:
            info = resolve_model(base, backend=backend)
        except UnknownModelError:
            raise UserError(say("I don't know the base model of ", Code(model), ".")) from None
        asked = info.id
        if backend == AZURE:  # Azure answers a base model only through a deployment, too
            asked = self._deployments.deployment_of(backend=AZURE, model=info.id) or ""
            if not asked:
                raise UserError(base_not_deployed(info.id))
        source = self._dataset(model, dataset, viewer, channel_id)
        remote = self._files.info(source.slack_file_id, source.channel_id)
        with tempfile.TemporaryDirectory(prefix="ftbot-cmp-") as tmp:
            path = Path(tmp) / "data.jsonl"
            self._files.download(remote, path, max_bytes=max(remote.size, 1) * 2)
            cases = cases_from(iter_records(path), limit)
        if not cases:
            raise UserError(
                say(Code(source.name), " has no chat examples ending in an assistant answer.")
            )
        lock = threading.Lock()
        done = 0
        tokens = [0, 0]

        def run(case: Case) -> Outcome:
            nonlocal done
            answers = []
            for name in (asked, tuned):
                try:
                    text, prompt_tokens, completion_tokens = gateway.chat(
                        model=name, messages=case.prompt
                    )
                except ServiceError as error:
                    text, prompt_tokens, completion_tokens = f"(error: {error})", 0, 0
                with lock:
                    tokens[0] += prompt_tokens
                    tokens[1] += completion_tokens
                answers.append(text)
            with lock:
                done += 1
                finished = done
            progress(finished, len(cases))
            return Outcome(case=case, base=answers[0], tuned=answers[1])

        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="compare") as pool:
            outcomes = list(pool.map(run, cases))
        cost = (
            tokens[0] * info.inference_input_usd_per_1m
            + tokens[1] * info.inference_output_usd_per_1m
        ) / 1_000_000
        return Comparison(
            tuned_model=model,
            base_model=info.id,
            dataset=source.name,
            outcomes=outcomes,
            base=score(outcomes, tuned=False),
            tuned=score(outcomes, tuned=True),
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            cost_usd=cost,
        )
