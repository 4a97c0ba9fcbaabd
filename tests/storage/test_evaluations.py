"""Held-out splits and evaluations in the store (SQLite, and PostgreSQL in the `db` run)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from bot.core.jobs import JobState
from storage.evaluations import (
    EvaluationRepository,
    HoldoutRepository,
    NewEvaluation,
    ScoreRow,
    SplitResult,
)
from storage.jobs import JobRepository, NewJob
from storage.repositories import DatasetRepository

NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.db


def dataset_and_job(engine: Engine, n: int = 1) -> tuple[int, int]:
    datasets = DatasetRepository(engine=engine)
    datasets.claim(
        slack_file_id=f"F{n}", channel_id="C1", uploader_id="U1", thread_ts="1.0", now=NOW,
        lease=dt.timedelta(minutes=5),
    )  # fmt: skip
    found = datasets.get(slack_file_id=f"F{n}")
    assert found is not None
    job, _ = JobRepository(engine=engine).add_request(
        request_key=f"k{n}", now=NOW,
        request=NewJob(channel_id="C1", owner_id="U1", model="m", state=JobState.REQUESTED,
                       dataset_id=found.id),
    )  # fmt: skip
    return found.id, job.id


def split(file_id: str | None = "file-train", sha: str = "s" * 64) -> SplitResult:
    return SplitResult(
        total=30, training_count=24, held_out_count=6, training_sha256=sha,
        training_file_id=file_id or "", held_out_lines=[1, 5, 9, 12, 20, 30],
        held_out_examples='{"messages": []}\n' * 6,
    )  # fmt: skip


def test_a_split_is_asked_once_then_recorded(engine: Engine) -> None:
    repo = HoldoutRepository(engine=engine)
    dataset_id, job_id = dataset_and_job(engine)
    repo.request(
        job_id=job_id, dataset_id=dataset_id, backend="openai", percent=20, seed=7, now=NOW
    )
    repo.request(
        job_id=job_id, dataset_id=dataset_id, backend="openai", percent=50, seed=1, now=NOW
    )
    asked = repo.of_job(job_id)
    assert asked is not None and (asked.percent, asked.seed, asked.split) == (20, 7, False)
    assert repo.latest_of_dataset(dataset_id) is None  # not split yet
    repo.record_split(job_id=job_id, split=split(), now=NOW)
    made = repo.latest_of_dataset(dataset_id)
    assert made is not None and made.split
    assert (made.total, made.training_count, made.held_out_count) == (30, 24, 6)
    assert made.held_out_examples == '{"messages": []}\n' * 6
    assert repo.uploaded_with_sha(sha256="s" * 64, backend="openai") == "file-train"
    assert repo.uploaded_with_sha(sha256="s" * 64, backend="together") is None
    assert repo.of_job(job_id + 99) is None


def test_evaluations_are_stored_with_their_scores(engine: Engine) -> None:
    repo = EvaluationRepository(engine=engine)
    dataset_id, job_id = dataset_and_job(engine)
    new = NewEvaluation(
        dataset_id=dataset_id, channel_id="C1", thread_ts="1.0", requester_id="U1", model="ft:m",
        backend="openai", base_model="m", source="holdout", examples=6, grader_model="g",
        estimated_usd=0.01, job_id=job_id,
    )  # fmt: skip
    first = repo.start(evaluation=new, now=NOW)
    second = repo.start(evaluation=new, now=NOW)
    assert repo.of_dataset(dataset_id) == []  # running ones are not listed
    row = ScoreRow(
        role="model", model="ft:m", backend="openai", base_model="m", cases=6, answered=5,
        exact=3, normalised=4, graded=5, wins=3, ties=1, losses=1, opponent="m",
        mean_latency_s=0.5, prompt_tokens=100, completion_tokens=20, cost_usd=None,
    )  # fmt: skip
    repo.finish(evaluation_id=first, scores=[row], cost_usd=0.002, missing=None, now=NOW)
    repo.finish(evaluation_id=second, scores=[], cost_usd=None, missing="x failed", now=NOW)
    runs = repo.of_dataset(dataset_id)
    assert [r.id for r in runs] == [second, first]
    assert (runs[0].status, runs[0].missing, runs[0].scores) == ("partial", "x failed", ())
    assert (runs[1].status, runs[1].cost_usd, runs[1].scores) == ("done", 0.002, (row,))
    assert runs[1].job_id == job_id and runs[1].created_at == NOW
