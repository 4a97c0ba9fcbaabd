"""Wiring of evaluations (product §10): the service behind `/finetune eval`, the automatic
scorecard's runner (its own small pool, its lease) and the leaderboard."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings
from bot.services.auto_eval import AutoEvaluator
from bot.services.backends import Backends
from bot.services.eval_post import EvalNotifier
from bot.services.evaluation import EvalPolicy, EvaluationService
from bot.services.jobs import JobService
from bot.services.leaderboard import LeaderboardService
from bot.services.ports import Clock, FileSource
from storage.deployments import DeploymentRepository
from storage.evaluations import EvaluationRepository, HoldoutRepository
from storage.fine_tuned import ModelRepository
from storage.job_evaluations import JobEvaluationRepository
from storage.jobs import JobRepository
from storage.repositories import DatasetRepository

AUTO_WORKERS = 2  # automatic scorecards run at once per replica (each at its own concurrency)


@dataclass(frozen=True, slots=True)
class Evaluating:
    """The evaluation parts of the runtime (`pool`: shut down with the runtime)."""

    service: EvaluationService
    auto: AutoEvaluator
    leaderboard: LeaderboardService
    pool: ThreadPoolExecutor


def evaluating(
    settings: Settings,
    *,
    engine: Engine,
    notifier: EvalNotifier,
    clock: Clock,
    files: FileSource,
    backends: Backends,
    job_service: JobService,
    runs: JobEvaluationRepository,
) -> Evaluating:
    """Build the evaluation service, the automatic scorecard's runner and the leaderboard."""
    models = ModelRepository(engine=engine)
    holdouts = HoldoutRepository(engine=engine)
    evaluations = EvaluationRepository(engine=engine)
    jobs = JobRepository(engine=engine)
    service = EvaluationService(
        models=models,
        deployments=DeploymentRepository(engine=engine),
        holdouts=holdouts,
        evaluations=evaluations,
        files=files,
        backends=backends,
        job_service=job_service,
        notifier=notifier,
        clock=clock,
        policy=EvalPolicy(
            max_examples=settings.FTBOT_EVAL_EXAMPLES,
            max_usd=settings.FTBOT_EVAL_MAX_USD,
            grader_model=settings.FTBOT_GRADER_MODEL,
            concurrency=settings.FTBOT_EVAL_CONCURRENCY,
        ),
    )
    pool = ThreadPoolExecutor(AUTO_WORKERS, thread_name_prefix="autoeval")
    auto = AutoEvaluator(
        service=service,
        runs=runs,
        jobs=jobs,
        datasets=DatasetRepository(engine=engine),
        holdouts=holdouts,
        notifier=notifier,
        clock=clock,
        executor=pool,
        workers=AUTO_WORKERS,
        # A replica that dies mid-evaluation gives it up after this long (at least 5 s, so a
        # busy heartbeat never loses it to another replica).
        lease=dt.timedelta(seconds=max(3 * settings.FTBOT_POLL_SECONDS, 5.0)),
    )
    board = LeaderboardService(
        evaluations=evaluations, models=models, jobs=jobs, job_service=job_service
    )
    return Evaluating(service=service, auto=auto, leaderboard=board, pool=pool)
