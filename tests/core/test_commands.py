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
     ("cost d backend=Azure", commands.Cost("d", backend="azure")),
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
     ("start d lr=0", "between 0.0000001 and 10"), ("start d lr=-1", "between 0.0000001 and 10"),
     ("start d lr=nan", "number like 0.1"),
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


def test_help_names_every_backend_where_it_applies() -> None:
    """Shared commands are not described as OpenAI-only; `usage` gives totals per backend."""
    summaries = {u.split()[1]: summary for u, summary, _ in commands.help_lines()}
    assert "totals per backend" in summaries["usage"]
    assert "Together AI" in summaries["start"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("start d epochs=3", commands.Start("d", epochs=3)),
     ("start d epochs=+3", commands.Start("d", epochs=3)),
     ("start d epochs=03", commands.Start("d", epochs=3)),
     ("start d seed=0", commands.Start("d", seed=0)),
     ("start d lr=0.1", commands.Start("d", lr=0.1)), ("start d lr=.5", commands.Start("d", lr=0.5)),
     ("start d lr=2.", commands.Start("d", lr=2.0)), ("start d lr=1e-2", commands.Start("d", lr=0.01)),
     ("start d lr=0.001", commands.Start("d", lr=0.001)), ("start d lr=10", commands.Start("d", lr=10.0)),
     ("start d lr=0.00002", commands.Start("d", lr=2e-5)), ("start d lr=1e-7", commands.Start("d", lr=1e-7)),
     ("events j 7", commands.Events("j", 7)),
     ("compare ft:m latest n=5", commands.Compare("ft:m", "latest", 5))],
)  # fmt: skip
def test_numbers_in_ascii_digits(text: str, expected: commands.Command) -> None:
    assert commands.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [("start d epochs=٣", "`epochs` must be a whole number"),  # Arabic-Indic three
     ("start d epochs=３", "`epochs` must be a whole number"),  # fullwidth three
     ("start d epochs=1_0", "`epochs` must be a whole number"),
     ("start d epochs=3.0", "`epochs` must be a whole number"),
     ("start d epochs=0x3", "`epochs` must be a whole number"),
     ("start d epochs=-1", "between 1 and 50"),
     ("start d epochs=" + "9" * 5000, "between 1 and 50"),  # past int()'s digit limit
     ("start d batch=٨", "`batch` must be a whole number"),
     ("start d seed=٤٢", "`seed` must be a whole number"),
     ("start d seed=-1", "between 0 and 2147483647"),
     ("start d lr=٠.١", "`lr` must be a number"), ("start d lr=0.1_0", "`lr` must be a number"),
     ("start d lr=inf", "`lr` must be a number"), ("start d lr=Infinity", "`lr` must be a number"),
     ("start d lr=1e-320", "between 0.0000001 and 10"), ("start d lr=9e-8", "between 0.0000001 and 10"),
     ("start d lr=10.01", "between 0.0000001 and 10"), ("start d lr=1e999", "between 0.0000001 and 10"),
     ("events j ٣", "`N` must be a whole number"), ("events j 101", "between 1 and 100"),
     ("compare ft:m latest n=٥", "`n` must be a whole number"),
     ("cost d epochs=٢", "`epochs` must be a whole number")],
)  # fmt: skip
def test_numbers_refused(text: str, needle: str) -> None:
    with pytest.raises(commands.UsageError) as info:
        commands.parse(text)
    message = str(info.value)
    assert needle in message and "Usage" in message
    assert "\n" not in message and len(message) < 400


@pytest.mark.parametrize(
    ("parse", "value"),
    [(commands.parse_epochs, "٣"), (commands.parse_batch, "１６"), (commands.parse_seed, "٤٢"),
     (commands.parse_lr, "٠.١"), (commands.parse_lr, "1e-320"), (commands.parse_epochs, "1_0")],
)  # fmt: skip
def test_form_field_parsers_refuse_the_same(parse: object, value: str) -> None:
    with pytest.raises(commands.UsageError):
        parse(value)  # type: ignore[operator]
