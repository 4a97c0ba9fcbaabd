"""What the listeners may use: services, the clock, the bot's identity and a few settings.

Built by the composition root (bot/app.py) and handed to each surface's `register`. Listeners
never see the database engine, the scheduler or a repository; the pools they may hand work to are
plain Executors owned (and shut down) by the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass

from bot.services.access import AccessService
from bot.services.backends import Backends
from bot.services.compare import CompareService
from bot.services.content_check import ContentCheckService
from bot.services.datasets import DatasetIntake
from bot.services.deliveries import Deliveries
from bot.services.deployments import DeploymentService
from bot.services.doctor import DoctorService
from bot.services.evaluation import EvaluationService
from bot.services.inspect import JobInspector
from bot.services.jobs import JobService
from bot.services.leaderboard import LeaderboardService
from bot.services.models import ModelService
from bot.services.ports import Clock, FineTuningBackend


@dataclass(frozen=True, slots=True)
class Deps:
    """The listeners' dependencies."""

    access: AccessService
    datasets: DatasetIntake
    jobs: JobService
    inspector: JobInspector
    models: ModelService
    compare: CompareService
    content_check: ContentCheckService  # Check content on dataset reports
    evaluation: EvaluationService
    leaderboard: LeaderboardService
    deployments: DeploymentService
    deliveries: Deliveries
    doctor: DoctorService  # Fix it and Split on dataset reports
    clock: Clock
    chat: FineTuningBackend  # answers mentions and DMs (tool calling)
    chat_model: str
    default_model: str
    bot_user_id: str | None
    confirm_key: bytes  # seals confirmation buttons to their message
    background: Executor  # slow answers (try, compare, eval) after the ack
    commands: Executor  # slash commands, answered within Slack's 3 s or followed up
    backends: Backends  # which backends are configured, and the default one
    default_models: Mapping[str, str]  # each backend's default model (from the settings)
    workspace_url: str | None = None  # `https://…slack.com/` (auth.test): permalinks of threads
