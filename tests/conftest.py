"""Shared fixtures: paths to test data and the shared sample datasets."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = DATA / "samples"
TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def data_dir() -> Path:
    return DATA


SAMPLE_SHA256 = {
    "toy_chat_fine_tuning.jsonl": "2af82e94fad9824b7f95202b60927cde71f734106c7df904d524e49bf6770818",
    "drone_training.jsonl": "1052efb7af92fb1163e94a4c8d6afcb66546661e2f662d48dd21fe7cf53d7537",
}


def shared(name: str) -> Path:
    """A public sample dataset (byte-exact copy of the cookbook's file, checked by sha256)."""
    path = SAMPLES / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SAMPLE_SHA256[name]
    return path


@pytest.fixture(autouse=True)
def _catalogue_prices() -> object:
    """A test that starts a bot with FTBOT_PRICES changes the catalogue's rates process-wide
    (bot.core.models.use_prices); every test starts and ends with the file's own rates."""
    from bot.core.models import use_prices

    use_prices(())
    yield
    use_prices(())


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for `-n auto` (pyproject's addopts): twice the CPUs, at least 4, at most 8.

    Most of the suite waits (on sockets between the bot and the fakes, on pollers, on child
    processes), so more workers than CPUs pay. PYTEST_XDIST_AUTO_NUM_WORKERS overrides."""
    override = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if override:
        return int(override)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(max(4, 2 * (cpus or 1)), 8)
