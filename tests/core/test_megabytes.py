"""Sizes are said in the unit FTBOT_MAX_FILE_MB is set in: 1 MB = 1,048,576 bytes."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.core.reports import megabytes


@pytest.mark.parametrize(
    ("size", "round_up", "text"),
    [(64 * 1048576, False, "64"), (64 * 1048576, True, "64"), (64 * 1048576 + 1, True, "64.1"),
     (17_000_000, False, "16.2"), (17_000_000, True, "16.3"), (512 * 1048576, False, "512"),
     (1048576 // 2, False, "0.5"), (2048 * 1048576, False, "2,048"), (0, False, "0"),
     (1048, False, "0.001"), (1048, True, "0.1")],
)  # fmt: skip
def test_megabytes(size: int, round_up: bool, text: str) -> None:
    assert megabytes(size, round_up=round_up) == text


@pytest.mark.parametrize("setting", ["64", "0.5", "512", "1.5"])
def test_the_limit_reads_as_it_was_set(setting: str) -> None:
    settings = load_settings(FTBOT_MAX_FILE_MB=setting, SLACK_BOT_TOKEN="xoxb-x")
    assert megabytes(settings.max_file_bytes) == setting
