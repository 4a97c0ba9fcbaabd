"""The /finetune grammar."""

from __future__ import annotations

import pytest

from bot.core import commands


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", commands.Help()), ("help", commands.Help()), ("  HELP ", commands.Help()),
     ("datasets", commands.Datasets()),
     ("start F123", commands.Start("F123")),
     ("start latest model=gpt-4.1-mini epochs=3 batch=8 lr=0.5 suffix=my-bot_1 validation=F9 "
      "seed=42 method=DPO",
      commands.Start("latest", "gpt-4.1-mini-2025-04-14", 3, 8, 0.5, "my-bot_1", "F9", 42, "dpo")),
     ('start "my data.jsonl"', commands.Start("my data.jsonl")),
     ("cost file-abc model=gpt-4o epochs=2", commands.Cost("file-abc", "gpt-4o-2024-08-06", 2)),
     ("cancel ftjob-1", commands.JobAction("cancel", "ftjob-1")),
     ("PAUSE ftjob-1", commands.JobAction("pause", "ftjob-1")),
     ("resume ftj", commands.JobAction("resume", "ftj"))],
)  # fmt: skip
def test_parse(text: str, expected: commands.Command) -> None:
    assert commands.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [("nope", "Unknown subcommand `nope`"), ("datasets x", "doesn't take `x`"),
     ('help "x', "couldn't read"), ("start", "needs <dataset>"),
     ("start d epochs=0", "between 1 and 50"), ("start d epochs=51", "between 1 and 50"),
     ("start d epochs=two", "whole number"), ("start d batch=0", "between 1 and 256"),
     ("start d lr=0", "above 0"), ("start d lr=-1", "above 0"), ("start d lr=nan", "above 0"),
     ("start d suffix=Bad!", "lowercase"), ("start d suffix=" + "a" * 65, "1–64"),
     ("start d model=gpt-9", "known models"), ("start d method=rft", "supervised"),
     ("start d foo=1", "no option `foo=`"), ("start d epochs=1 epochs=2", "twice"),
     ("start d epochs=", "needs a value"), ("cancel", "needs <job>"), ("cost a b", "doesn't take")],
)  # fmt: skip
def test_usage_errors(text: str, needle: str) -> None:
    with pytest.raises(commands.UsageError) as info:
        commands.parse(text)
    assert needle in str(info.value) and "Usage" in str(info.value)


def test_help_comes_from_the_table() -> None:
    assert [u for u, _, _ in commands.help_lines()] == [
        f"/finetune {spec.usage}" for spec in commands.SPECS
    ]
