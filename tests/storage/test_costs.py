"""The usage report's input from the store: each started job's backend, and an estimate that was
never recorded read as unknown (None), not as $0."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from bot.core.jobs import JobState
from storage.jobs import JobRepository, NewJob, PollResult

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def test_costs_carry_the_backend_and_an_unknown_estimate(engine: Engine) -> None:
    jobs = JobRepository(engine=engine)
    for key, request in [
        ("openai", NewJob(channel_id="C1", owner_id="U1", model="gpt-4o-mini-2024-07-18",
                          state=JobState.CREATED, remote_id="ftjob-1",
                          estimated_cost_usd=0.9, estimated_tokens=300)),
        ("quoted", NewJob(channel_id="C1", owner_id="U1", model="meta-llama/M", backend="together",
                          state=JobState.CREATED, remote_id="ft-1", estimated_cost_usd=0.06,
                          estimated_tokens=120)),
        ("adopted", NewJob(channel_id="C2", owner_id="U2", model="meta-llama/M",
                           backend="together", state=JobState.CREATED, remote_id="ft-2")),
        ("request", NewJob(channel_id="C1", owner_id="U1", model="gpt-4o-mini-2024-07-18",
                           state=JobState.REQUESTED)),  # not started: not counted
    ]:  # fmt: skip
        jobs.add_request(request_key=key, now=NOW, request=request)
    found = {(c.backend, c.estimated_usd, c.estimated_tokens) for c in jobs.costs()}
    assert found == {("openai", 0.9, 300), ("together", 0.06, 120), ("together", None, 0)}


@pytest.mark.parametrize(("stored", "billed"), [(1.23, 1.23), (0, 0.0), ("1.23", None), (-1, None)])
def test_costs_carry_the_backends_own_price(
    engine: Engine, stored: object, billed: float | None
) -> None:
    jobs = JobRepository(engine=engine)
    record, _ = jobs.add_request(
        request_key="k", now=NOW,
        request=NewJob(channel_id="C1", owner_id="U1", model="meta-llama/M", backend="together",
                       state=JobState.CREATED, remote_id="ft-1"),
    )  # fmt: skip
    (cost,) = jobs.costs()
    assert cost.billed_usd is None  # not polled yet
    state = {"metrics": None, "view": None, "billed_usd": stored}
    poll = PollResult(status="succeeded", snapshot=state, events_cursor=None, trained_tokens=9,
                      fine_tuned_model=None, finished=True)  # fmt: skip
    jobs.record_poll(job_id=record.id, now=NOW, poll=poll)
    (cost,) = jobs.costs()
    assert cost.billed_usd == billed and cost.trained_tokens == 9
