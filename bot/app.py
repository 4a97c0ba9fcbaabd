"""Composition root: engine and migrations, Slack client, repositories, services, Bolt app."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy import Engine

from bot.backend_clients import azure_control, backends
from bot.config import Settings, SettingsError, check_serve
from bot.core.models import use_prices
from bot.evaluating import evaluating
from bot.report_models import ModelChoiceError, ReportModels, for_bot
from bot.services.access import AccessService
from bot.services.backends import Backends
from bot.services.compare import CompareService
from bot.services.datasets import DatasetIntake
from bot.services.deliveries import Deliveries
from bot.services.deployments import DeploymentService
from bot.services.doctor import DoctorService
from bot.services.inspect import JobInspector
from bot.services.jobs import JobPolicy, JobService
from bot.services.models import ModelService
from bot.services.ports import Clock, FineTuningBackend, SystemClock
from bot.services.watch import JobWatcher
from handlers.deps import Deps
from storage import migrate
from storage.catchup import CatchupRepository
from storage.db import make_engine
from storage.deployments import DeploymentRepository
from storage.evaluations import HoldoutRepository
from storage.fine_tuned import ModelRepository
from storage.job_evaluations import JobEvaluationRepository
from storage.jobs import JobRepository
from storage.notifications import NotificationRepository
from storage.repositories import DatasetRepository, DeliveryRepository

log = logging.getLogger(__name__)

LISTENER_THREADS = 32  # Bolt's default of 5 would let a few slow listeners block the rest
COMMAND_THREADS = 16  # slash commands answered after the ack when OpenAI is slow
INTAKE_THREADS = 4  # datasets validated at once (each streams; memory stays bounded)


@dataclass
class Runtime:
    """What the process owns: settings, engine, Slack client, pools, scheduler, and the
    listeners' dependencies (`deps`). The server starts and closes it."""

    settings: Settings
    engine: Engine
    client: WebClient
    deps: Deps
    watcher: JobWatcher
    executors: list[ThreadPoolExecutor] = field(default_factory=list)
    scheduler: Any = None
    evaluations: Any = None  # claims due automatic scorecards (bot.services.auto_eval)

    @property
    def access(self) -> AccessService:
        """The access service (as the listeners see it)."""
        return self.deps.access

    @property
    def datasets(self) -> DatasetIntake:
        """The dataset intake."""
        return self.deps.datasets

    @property
    def jobs(self) -> JobService:
        """The job service."""
        return self.deps.jobs

    @property
    def inspector(self) -> JobInspector:
        """The job inspector."""
        return self.deps.inspector

    @property
    def models(self) -> ModelService:
        """The model service."""
        return self.deps.models

    def start_background(self) -> None:
        """Start polling jobs every FTBOT_POLL_SECONDS."""
        from bot.scheduler import start_polling

        self.scheduler = start_polling(
            self.watcher.poll_once,
            seconds=self.settings.FTBOT_POLL_SECONDS,
            housekeeping=self.datasets.housekeep,
            recovery=self.datasets.recover,
            evaluations=self.evaluations,
        )

    def close(self) -> None:
        """Stop polling, let background work finish and release connections."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        for executor in self.executors:
            executor.shutdown(wait=True)
        self.engine.dispose()


def confirm_key(settings: Settings) -> bytes:
    """The key that seals confirmation buttons (derived from a secret only Slack and we know)."""
    secret = settings.SLACK_SIGNING_SECRET or settings.SLACK_BOT_TOKEN
    raw = secret.get_secret_value() if secret else ""
    return hashlib.sha256(b"ftbot-confirm:" + raw.encode()).digest()


def web_client(settings: Settings) -> WebClient:
    """The Slack Web API client: SLACK_API_URL, and 429s retried after Retry-After."""
    token = settings.SLACK_BOT_TOKEN.get_secret_value() if settings.SLACK_BOT_TOKEN else None
    return WebClient(
        token=token,
        base_url=settings.SLACK_API_URL,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
        ],
    )


def chat_backend(settings: Settings, registry: Backends) -> FineTuningBackend:
    """The backend whose chat completions serve FTBOT_CHAT_MODEL (mentions and DMs, product §9);
    when it is not configured, mentions get commands only, and the log says why."""
    name = settings.chat_backend
    backend = registry.get(name)
    if not backend.configured:
        log.warning(
            "FTBOT_CHAT_MODEL %s runs on the %s backend, which is not configured: "
            "mentions and DMs understand commands only",
            settings.FTBOT_CHAT_MODEL,
            name,
        )
    return backend


def report_models(
    settings: Settings, registry: Backends, *, today: dt.date
) -> Callable[[dt.date], ReportModels]:
    """The models a dataset report estimates for on a day (product §9 "Cost"); a default model
    that is not in the catalogue stops the start with one line."""
    defaults = {
        "FTBOT_DEFAULT_MODEL": settings.FTBOT_DEFAULT_MODEL,
        "FTBOT_TOGETHER_MODEL": settings.FTBOT_TOGETHER_MODEL,
    }

    def models(today: dt.date) -> ReportModels:
        return for_bot(
            default_backend=registry.default(today),
            configured=registry.configured(),
            defaults=defaults,
        )

    try:
        models(today)
    except ModelChoiceError as error:
        raise SettingsError(str(error)) from None
    return models


def build(settings: Settings, *, clock: Clock | None = None) -> tuple[App, Runtime]:
    """Wire the bot for `settings`: migrate the database, check the token, register listeners."""
    from bot.moderation import content_checks
    from handlers.notifier import (
        SlackEvalNotifier,
        SlackJobNotifier,
        SlackNotifier,
        SlackWatchNotifier,
    )
    from handlers.registry import register_all
    from handlers.slack_catchup import SlackRecentFiles
    from handlers.slack_files import SlackFileSource, allowed_hosts
    from handlers.users import ConversationMembers, WorkspaceAdmins

    check_serve(settings)
    use_prices(settings.price_overrides)
    clock = clock or SystemClock()
    client = web_client(settings)
    try:
        identity = client.auth_test()
        bot_user_id = identity.get("user_id")
    except SlackApiError as error:
        raise SettingsError(
            f"SLACK_BOT_TOKEN: Slack refused the token ({error.response.get('error')})"
        ) from None
    except OSError as error:  # unreachable host, refused connection, TLS failure
        reason = getattr(error, "reason", None) or error
        raise SettingsError(
            f"SLACK_API_URL: cannot reach Slack at {settings.SLACK_API_URL} ({reason})"
        ) from None
    engine = make_engine(settings.DATABASE_URL)  # the database only once Slack took the token
    migrate.upgrade(engine)
    intake_pool = ThreadPoolExecutor(INTAKE_THREADS, thread_name_prefix="intake")
    listener_pool = ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="listener")
    assert settings.SLACK_BOT_TOKEN is not None
    files = SlackFileSource(
        client=client,
        token=settings.SLACK_BOT_TOKEN.get_secret_value(),
        hosts=allowed_hosts(settings.SLACK_API_URL),
    )
    datasets = DatasetRepository(engine=engine)
    jobs_repo = JobRepository(engine=engine)
    models = ModelRepository(engine=engine)
    deployments = DeploymentRepository(engine=engine)
    holdouts = HoldoutRepository(engine=engine)
    registry = backends(settings)
    jobs_pool = ThreadPoolExecutor(INTAKE_THREADS, thread_name_prefix="jobs")
    job_service = JobService(
        jobs=jobs_repo,
        datasets=datasets,
        files=files,
        backends=registry,
        notifier=SlackJobNotifier(client=client, admins=settings.FTBOT_ADMINS),
        clock=clock,
        executor=jobs_pool,
        policy=JobPolicy(
            admins=settings.FTBOT_ADMINS,
            approval_usd=settings.FTBOT_APPROVAL_USD,
            default_model=settings.FTBOT_DEFAULT_MODEL,
            together_model=settings.FTBOT_TOGETHER_MODEL,
        ),
        holdouts=holdouts,
        job_evaluations=(runs := JobEvaluationRepository(engine=engine)),
    )
    evals = evaluating(
        settings, engine=engine, notifier=SlackEvalNotifier(client=client), clock=clock,
        files=files, backends=registry,
        job_service=job_service, runs=runs,
    )  # fmt: skip
    watch_notifier = SlackWatchNotifier(client=client)
    watcher = JobWatcher(
        jobs=jobs_repo,
        notifications=NotificationRepository(engine=engine),
        models=models,
        datasets=datasets,
        backends=registry,
        notifier=watch_notifier,
        clock=clock,
        # A replica that dies holding jobs gives them up after a few poll intervals.
        lease=dt.timedelta(seconds=max(3 * settings.FTBOT_POLL_SECONDS, 1.0)),
        on_success=evals.auto.job_succeeded,
    )
    background = ThreadPoolExecutor(INTAKE_THREADS, thread_name_prefix="background")
    command_pool = ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="command")
    job_service_pools = [
        listener_pool,
        intake_pool,
        jobs_pool,
        background,
        command_pool,
        evals.pool,
    ]
    chosen_models = report_models(settings, registry, today=clock.now().date())
    intake = DatasetIntake(
        repo=datasets,
        files=files,
        notifier=SlackNotifier(client=client, clock=clock),
        clock=clock,
        executor=intake_pool,
        models=chosen_models,
        max_bytes=settings.max_file_bytes,
        recent=SlackRecentFiles(client=client, bot_user_id=bot_user_id),
        marks=CatchupRepository(engine=engine),
    )
    deliveries = Deliveries(repo=DeliveryRepository(engine=engine), clock=clock)
    deps = Deps(
        access=AccessService(
            admins=settings.FTBOT_ADMINS,
            is_workspace_admin=WorkspaceAdmins(client=client),
            is_member=ConversationMembers(client=client),
        ),
        datasets=intake,
        jobs=job_service,
        inspector=JobInspector(
            jobs=jobs_repo,
            models=models,
            datasets=datasets,
            service=job_service,
            watcher=watcher,
            backends=registry,
            notifier=watch_notifier,
            clock=clock,
        ),
        models=ModelService(
            jobs=jobs_repo,
            models=models,
            deployments=deployments,
            datasets=datasets,
            backends=registry,
            job_service=job_service,
            clock=clock,
        ),
        compare=CompareService(
            jobs=jobs_repo,
            models=models,
            deployments=deployments,
            datasets=datasets,
            files=files,
            backends=registry,
            job_service=job_service,
            clock=clock,
        ),
        evaluation=evals.service,
        leaderboard=evals.leaderboard,
        content_check=content_checks(
            settings, engine=engine, files=files, notifier=SlackNotifier(client=client), clock=clock
        ),
        deployments=DeploymentService(
            models=models,
            jobs=jobs_repo,
            deployments=deployments,
            job_service=job_service,
            control=azure_control(settings),
            notifier=SlackNotifier(client=client),
            clock=clock,
            executor=background,
        ),
        deliveries=deliveries,
        doctor=DoctorService(
            datasets=datasets,
            files=files,
            notifier=SlackNotifier(client=client),
            intake=intake,
            deliveries=deliveries,
            clock=clock,
            models=chosen_models,
            max_bytes=settings.max_file_bytes,
        ),
        clock=clock,
        chat=chat_backend(settings, registry),
        chat_model=settings.FTBOT_CHAT_MODEL,
        default_model=settings.FTBOT_DEFAULT_MODEL,
        bot_user_id=bot_user_id,
        confirm_key=confirm_key(settings),
        background=background,
        commands=command_pool,
        backends=registry,
        default_models={
            "openai": settings.FTBOT_DEFAULT_MODEL,
            "together": settings.FTBOT_TOGETHER_MODEL,
            "azure": settings.FTBOT_DEFAULT_MODEL,
        },
        workspace_url=identity.get("url"),
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        client=client,
        deps=deps,
        watcher=watcher,
        executors=job_service_pools,
        evaluations=evals.auto.run_due,
    )
    secret = settings.SLACK_SIGNING_SECRET
    app = App(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        token_verification_enabled=False,  # auth.test ran above
        request_verification_enabled=not settings.socket_mode,
        listener_executor=listener_pool,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    deps.datasets.record_start()
    register_all(app, deps)
    return app, runtime
