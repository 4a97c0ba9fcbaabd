"""The way off OpenAI when it refuses new jobs (product §9 "The wind-down path"): a refused
request's *Start on …* button opens the start form for its dataset on another configured
backend, and the job started from there is one job per request and backend."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.access import Viewer, may_see
from bot.core.jobs import JobState
from bot.core.message import Code, say
from bot.core.wind_down import carried_values
from bot.services import job_plan
from bot.services.backends import Backends
from bot.services.errors import UserError
from storage.jobs import JobRepository
from storage.repositories import DatasetRecord, DatasetRepository

UNKNOWN = "I don't know that job request any more."


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """A refused request's dataset and settings, for the start form on another backend."""

    dataset: DatasetRecord
    backend: str
    values: dict[str, str]
    origin: str  # the refused request's key


def elsewhere(
    *,
    jobs: JobRepository,
    datasets: DatasetRepository,
    backends: Backends,
    viewer: Viewer,
    request_key: str,
    backend: str,
) -> Elsewhere:
    """The same dataset on another configured backend, with the request's settings where they
    mean the same there.

    The button is hostile input: only its request key and backend are taken, and both are
    checked (a request the viewer may not see answers as one that does not exist)."""
    job = jobs.by_key(request_key)
    if job is None or not may_see(viewer, job.channel_id):
        raise UserError(say(UNKNOWN))
    dataset = datasets.by_id(job.dataset_id or 0)
    if dataset is None or not may_see(viewer, dataset.channel_id):
        raise UserError(say(UNKNOWN))
    if job.state != JobState.FAILED or backend == job.backend:
        raise UserError(say("That request can't be moved to another backend."))
    if backend not in backends.configured():
        raise UserError(say("That backend isn't configured here any more."))
    job_plan.require_configured(backends, backend)
    if not dataset.valid:
        raise UserError(say(Code(dataset.name), " isn't ready to train."))
    values = carried_values(
        target=backend,
        method=job.method,
        hyperparameters=job.hyperparameters,
        suffix=job.suffix,
        seed=job.seed,
    )
    validation = datasets.by_id(job.validation_dataset_id or 0)
    if validation is not None and may_see(viewer, validation.channel_id):
        values["validation"] = validation.slack_file_id
    return Elsewhere(dataset=dataset, backend=backend, values=values, origin=request_key)


def origin_key(
    *, jobs: JobRepository, viewer: Viewer, origin: str, dataset: DatasetRecord
) -> str | None:
    """`origin` when it is a refused request of `dataset` the viewer may see (the start moved
    from it is then one job per request and backend, however often the button is clicked);
    None otherwise (a form's metadata is hostile)."""
    job = jobs.by_key(origin)
    if job is None or not may_see(viewer, job.channel_id) or job.dataset_id != dataset.id:
        return None
    return origin if job.state == JobState.FAILED else None
