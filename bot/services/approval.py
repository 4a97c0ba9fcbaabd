"""When a start needs an admin's approval (FTBOT_APPROVAL_USD), decided as early as the price
allows: a per-token estimate at request time; a backend's own quote after the upload
(`JobService.create`); a price nobody can know (Azure OpenAI: no rate offline, no quote
endpoint) at request time too, since waiting would learn nothing more."""

from __future__ import annotations

from bot.core.backend_names import backend_name
from bot.core.fmt import usd
from bot.core.jobs import JobState
from bot.core.message import Message, Text, say
from bot.services import job_plan
from bot.services.job_plan import Plan
from bot.services.ports import Clock, JobNotifier
from storage.jobs import JobRecord, JobRepository
from storage.repositories import DatasetRecord


def needed_at_request(plan: Plan, threshold: float | None) -> bool:
    """True when the request waits for an admin before anything is uploaded: a threshold is
    set and the estimate is above it, or the price can't be known at all."""
    if threshold is None:
        return False
    if plan.model.unpriced:
        return True
    return not plan.model.quoted and plan.estimate.cost_usd > threshold


def held_answer(plan: Plan, threshold: float) -> Message:
    """The requester's answer when the request waits for an admin."""
    if plan.model.unpriced:
        return say(
            f"{backend_name(plan.backend)} publishes no price the bot can read, so with the ",
            Text(usd(threshold)),
            " approval threshold set I asked an admin to approve it in the dataset's thread.",
        )
    return say(
        "The estimate (",
        Text(usd(plan.estimate.cost_usd)),
        ") is above the ",
        Text(usd(threshold)),
        " approval threshold: I asked an admin to approve it in the dataset's thread.",
    )


def held_after_quote(
    *,
    jobs: JobRepository,
    notifier: JobNotifier,
    clock: Clock,
    threshold: float | None,
    job: JobRecord,
    dataset: DatasetRecord,
) -> bool:
    """After the quote: above the threshold (or no quote, cost unknown), an admin approves
    first; the upload is kept and the job is created once on approval."""
    cost = job.estimated_cost_usd
    if threshold is None or (cost is not None and cost <= threshold):
        return False
    if jobs.await_approval(request_key=job.request_key, now=clock.now()):
        held = jobs.by_key(job.request_key) or job
        ts = notifier.post_approval_request(
            job=held, dataset=dataset, threshold=threshold, epochs=job_plan.job_epochs(job, dataset)
        )
        jobs.set_approval_message(request_key=job.request_key, ts=ts, now=clock.now())
    return True


def answered(job: JobRecord) -> Message:
    """Why a request no longer waits for approval (a second click, or the other button)."""
    if job.state == JobState.AWAITING_APPROVAL:
        return say("This request is still waiting for an admin.")
    if job.state == JobState.FAILED and job.approver_id is None:
        return say("This request was declined: nothing was started.")
    return say("This request was already approved.")
