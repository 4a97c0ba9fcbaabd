"""The loss chart: titled by the job, checkpoints and epochs marked, accuracy in %."""

from __future__ import annotations

import time

from bot.charts import loss_chart, loss_figure
from bot.core.watch import MetricRow

ROWS = [
    MetricRow(s, 2 / s, 2.2 / s if s % 5 == 0 else None, 0.5 + s / 60, 0.45 + s / 60 if s % 5 == 0 else None)
    for s in range(1, 21)
]  # fmt: skip


def test_the_chart_marks_checkpoints_and_epochs_and_shows_accuracy_in_percent() -> None:
    figure = loss_figure(
        ROWS, title="sports_chat.jsonl · acc", subtitle="gpt-4o-mini · ftjob-1",
        checkpoints=[10, 20], epoch_ends=[10],
    )  # fmt: skip
    loss, accuracy = figure.axes
    assert loss.get_title(loc="left") == "sports_chat.jsonl · acc"
    assert loss.get_title(loc="right") == "gpt-4o-mini · ftjob-1"
    for axes in (loss, accuracy):
        dashed = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
        assert sorted(line.get_xdata()[0] for line in dashed) == [10, 20]
        assert len(axes.patches) == 1  # the second epoch shaded
    assert [t.get_text() for t in loss.texts] == ["epoch 1", "epoch 2"]
    assert accuracy.yaxis.get_major_formatter().format_pct(0.75, 1.0) == "75%"
    assert "checkpoint" in [t.get_text() for t in loss.get_legend().get_texts()]


def test_a_title_is_plain_text_and_the_chart_stays_fast() -> None:
    hostile = "costs $5 and 100% $x^{ of <!channel> " + "long " * 50
    started = time.perf_counter()
    png = loss_chart(ROWS, title=hostile, subtitle="$", checkpoints=[10], epoch_ends=[5, 10, 15])
    assert png.startswith(b"\x89PNG")
    assert time.perf_counter() - started < 10  # a few tenths of a second, even on a busy machine
    figure = loss_figure([], title=hostile)  # no figures yet: still a chart, no legend
    assert figure.axes[0].get_title(loc="left").startswith("costs $5")
    assert len(figure.axes[0].get_title(loc="left")) <= 100
    assert figure.axes[0].get_legend() is None
