"""Where an evaluation is shown (product §6): the dataset's thread only when every model it names
is of that conversation or a base model; and its progress line never counts backwards."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from bot.core.evaluation import Estimate
from bot.core.message import Message
from bot.services.eval_post import ProgressLine, Where, shown_in
from bot.services.eval_text import Contender, EvalPlan
from storage.repositories import DatasetRecord

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
DATASET = DatasetRecord(
    id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1", name="d",
    size_bytes=10, sha256=None, format="chat", examples=12, total_tokens=345, valid=True,
    report=None, status="reported", error=None, report_ts=None, created_at=NOW,
)  # fmt: skip
MODEL = Contender("model", "ft:m", "openai", "ft:m", "gpt-4o-mini", channel="C1")
BASE = Contender("base", "gpt-4o-mini", "openai", "gpt-4o-mini", None)


def plan(*contenders: Contender) -> EvalPlan:
    return EvalPlan(
        dataset=DATASET, source="dataset", cases=(), contenders=contenders, grader=None,
        grader_missing=None, free_text=False, estimate=Estimate(()), seed=1, cap_usd=1.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("contenders", "shown"),
    [
        ((MODEL, BASE), True),
        ((BASE,), True),  # a base model alone: public
        ((replace(MODEL, channel="G1"), BASE), False),  # the model is another channel's
        ((MODEL, BASE, replace(MODEL, role="best", model="ft:x", channel="G1")), False),
        ((MODEL, BASE, replace(BASE, role="best", model="gpt-4.1")), True),
    ],
)
def test_shown_in_the_datasets_thread_only_with_its_own_models(
    contenders: tuple[Contender, ...], shown: bool
) -> None:
    assert shown_in(plan(*contenders), "C1") is shown


class Recorder:
    def __init__(self) -> None:
        self.edits: list[str] = []

    def post_text(self, *, channel: str, thread_ts: str | None, text: Message) -> str:
        return "9.0"

    def update_text(self, *, channel: str, ts: str, text: Message) -> None:
        self.edits.append(str(text))

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(name)


def test_progress_never_counts_backwards_and_ends_at_the_total() -> None:
    notifier = Recorder()
    ticks: list[int] = []
    line = ProgressLine(notifier, Where("C1", "1.0"), Message(()), tick=lambda: ticks.append(1))  # type: ignore[arg-type]
    assert line.start(3) == "9.0"
    line(3, 3)
    line(2, 3)  # a slower thread reporting late
    assert len(ticks) == 2 and len(notifier.edits) == 1 and "3/3 answered" in notifier.edits[0]


def test_a_runner_taking_over_edits_the_line_already_posted() -> None:
    notifier = Recorder()
    line = ProgressLine(notifier, Where("C1", "1.0"), Message(()), ts="5.0")  # type: ignore[arg-type]
    assert line.start(4) == "5.0" and "0/4 answered" in notifier.edits[0]
