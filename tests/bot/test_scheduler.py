"""The poll scheduler: runs the jobs, and says nothing at INFO per run (DEBUG when asked)."""

from __future__ import annotations

import logging

import pytest

from bot.scheduler import start_polling
from tests.e2e.conftest import wait_for


def run_three_polls() -> None:
    seen = [0]

    def poll() -> None:
        seen[0] += 1

    scheduler = start_polling(poll, seconds=0.2, housekeeping=lambda: None)
    try:
        wait_for(lambda: seen[0] >= 3, what="three polls")
    finally:
        scheduler.shutdown(wait=True)


def apscheduler_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno == level]


def test_no_info_lines_per_poll(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    run_three_polls()
    assert apscheduler_records(caplog, logging.INFO) == []
    assert [r.getMessage() for r in caplog.records if r.name == "bot.scheduler"] == [
        "polling jobs every 0.2 s"
    ]


def test_the_runs_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    run_three_polls()
    debug = [r.getMessage() for r in apscheduler_records(caplog, logging.DEBUG)]
    assert sum(m.startswith('Running job "run_three_polls.<locals>.poll') for m in debug) >= 3
    assert apscheduler_records(caplog, logging.INFO) == []
