"""Held-out splits and evaluations: what a job kept back for evaluation (`holdout=P%`), and each
evaluation run with its per-model scores, for the scorecard and the leaderboard to read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utc
from storage.models import Evaluation, EvaluationScore, Holdout
from storage.repositories import insert_for


@dataclass(frozen=True, slots=True)
class HoldoutRecord:
    """A job's held-out split as stored (counts None until the split was made at upload)."""

    id: int
    job_id: int
    dataset_id: int
    backend: str
    percent: int
    seed: int
    total: int | None
    training_count: int | None
    held_out_count: int | None
    training_sha256: str | None
    training_file_id: str | None
    held_out_examples: str | None  # JSONL
    created_at: dt.datetime

    @property
    def split(self) -> bool:
        """True once the data was split and the training part uploaded."""
        return self.training_file_id is not None


@dataclass(frozen=True, slots=True)
class SplitResult:
    """What splitting a dataset made: both parts' counts, the training part's hash and upload,
    the held-out examples' line numbers and (some of) their JSON lines."""

    total: int
    training_count: int
    held_out_count: int
    training_sha256: str
    training_file_id: str
    held_out_lines: list[int]
    held_out_examples: str


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One model's scores in one evaluation (see bot.core.evaluation.ModelScore)."""

    role: str  # model | base | best
    model: str
    backend: str
    base_model: str | None
    cases: int
    answered: int
    exact: int
    normalised: int
    graded: int
    wins: int
    ties: int
    losses: int
    opponent: str | None
    mean_latency_s: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class NewEvaluation:
    """An evaluation as it starts."""

    dataset_id: int
    channel_id: str
    thread_ts: str | None
    requester_id: str | None
    model: str
    backend: str
    base_model: str | None
    source: str
    examples: int
    grader_model: str | None
    estimated_usd: float | None
    job_id: int | None = None


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    """An evaluation run as stored, with its scores."""

    id: int
    dataset_id: int
    job_id: int | None
    channel_id: str
    model: str
    backend: str
    base_model: str | None
    source: str
    examples: int
    grader_model: str | None
    estimated_usd: float | None
    cost_usd: float | None
    missing: str | None
    status: str
    created_at: dt.datetime
    scores: tuple[ScoreRow, ...]


_HOLDOUT_FIELDS = [f.name for f in fields(HoldoutRecord)]
_SCORE_FIELDS = [f.name for f in fields(ScoreRow)]


def _holdout(row: Holdout) -> HoldoutRecord:
    values = {name: getattr(row, name) for name in _HOLDOUT_FIELDS}
    values["created_at"] = utc(row.created_at) or row.created_at
    return HoldoutRecord(**values)


class HoldoutRepository:
    """Held-out splits: asked for with the job request, made once at upload."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def request(
        self,
        *,
        job_id: int,
        dataset_id: int,
        backend: str,
        percent: int,
        seed: int,
        now: dt.datetime,
    ) -> None:
        """Record that job `job_id` holds out `percent`% of its data with `seed` (once)."""
        stmt = (
            insert_for(self._engine, Holdout)
            .values(
                job_id=job_id,
                dataset_id=dataset_id,
                backend=backend,
                percent=percent,
                seed=seed,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["job_id"])
        )
        with self._sessions.begin() as session:
            session.execute(stmt)

    def of_job(self, job_id: int) -> HoldoutRecord | None:
        """The split a job asked for, if any."""
        with self._sessions() as session:
            row = session.scalars(select(Holdout).where(Holdout.job_id == job_id)).first()
            return _holdout(row) if row else None

    def uploaded_with_sha(self, *, sha256: str, backend: str) -> str | None:
        """The file id of a training part with this content already uploaded to `backend`."""
        with self._sessions() as session:
            return session.scalars(
                select(Holdout.training_file_id)
                .where(
                    Holdout.training_sha256 == sha256,
                    Holdout.backend == backend,
                    Holdout.training_file_id.is_not(None),
                )
                .limit(1)
            ).first()

    def record_split(self, *, job_id: int, split: SplitResult, now: dt.datetime) -> None:
        """Store what the split made (the counts, the training part's upload, the held-out
        examples)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Holdout)
                .where(Holdout.job_id == job_id)
                .values(
                    total=split.total,
                    training_count=split.training_count,
                    held_out_count=split.held_out_count,
                    training_sha256=split.training_sha256,
                    training_file_id=split.training_file_id,
                    held_out_lines={"lines": split.held_out_lines},
                    held_out_examples=split.held_out_examples,
                    updated_at=now,
                )
            )

    def latest_of_dataset(self, dataset_id: int) -> HoldoutRecord | None:
        """The newest split made of a dataset (its held-out part is what evaluations read)."""
        with self._sessions() as session:
            row = session.scalars(
                select(Holdout)
                .where(Holdout.dataset_id == dataset_id, Holdout.training_file_id.is_not(None))
                .order_by(Holdout.id.desc())
                .limit(1)
            ).first()
            return _holdout(row) if row else None


class EvaluationRepository:
    """Evaluation runs and their scores."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def start(self, *, evaluation: NewEvaluation, now: dt.datetime) -> int:
        """Record an evaluation as running; returns its id."""
        with self._sessions.begin() as session:
            row = Evaluation(
                **{f.name: getattr(evaluation, f.name) for f in fields(NewEvaluation)},
                status="running",
                created_at=now,
            )
            session.add(row)
            session.flush()
            return row.id

    def finish(
        self,
        *,
        evaluation_id: int,
        scores: list[ScoreRow],
        cost_usd: float | None,
        missing: str | None,
        now: dt.datetime,
    ) -> None:
        """Store the scores and the outcome (`missing`: what a partial result lacks)."""
        with self._sessions.begin() as session:
            for score in scores:
                session.add(
                    EvaluationScore(
                        evaluation_id=evaluation_id,
                        **{name: getattr(score, name) for name in _SCORE_FIELDS},
                    )
                )
            session.execute(
                update(Evaluation)
                .where(Evaluation.id == evaluation_id)
                .values(
                    cost_usd=cost_usd,
                    missing=missing,
                    status="partial" if missing else "done",
                    finished_at=now,
                )
            )

    def of_dataset(self, dataset_id: int, *, limit: int = 200) -> list[EvaluationRecord]:
        """A dataset's finished evaluations, newest first, with their scores."""
        with self._sessions() as session:
            runs = session.scalars(
                select(Evaluation)
                .where(Evaluation.dataset_id == dataset_id, Evaluation.status != "running")
                .order_by(Evaluation.id.desc())
                .limit(limit)
            ).all()
            ids = [run.id for run in runs]
            rows = session.scalars(
                select(EvaluationScore)
                .where(EvaluationScore.evaluation_id.in_(ids))
                .order_by(EvaluationScore.id)
            ).all()
            by_run: dict[int, list[ScoreRow]] = {}
            for row in rows:
                by_run.setdefault(row.evaluation_id, []).append(
                    ScoreRow(**{name: getattr(row, name) for name in _SCORE_FIELDS})
                )
            return [
                EvaluationRecord(
                    id=run.id,
                    dataset_id=run.dataset_id,
                    job_id=run.job_id,
                    channel_id=run.channel_id,
                    model=run.model,
                    backend=run.backend,
                    base_model=run.base_model,
                    source=run.source,
                    examples=run.examples,
                    grader_model=run.grader_model,
                    estimated_usd=run.estimated_usd,
                    cost_usd=run.cost_usd,
                    missing=run.missing,
                    status=run.status,
                    created_at=utc(run.created_at) or run.created_at,
                    scores=tuple(by_run.get(run.id, ())),
                )
                for run in runs
            ]
