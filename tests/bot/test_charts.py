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
    # the model and job under the chart, not beside a long title where they overlapped
    assert figure.get_supxlabel() == "gpt-4o-mini · ftjob-1" and not loss.get_title(loc="right")
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


def test_without_accuracy_one_panel_and_whole_steps() -> None:
    """Together AI reports no token accuracy: no empty accuracy panel. Steps are whole numbers
    (a 3-step job's axis read 1.25, 1.50 …), and an epoch's name stays inside the chart."""
    rows = [MetricRow(s, 2 / s, None, None, None) for s in range(1, 4)]
    figure = loss_figure(rows, title="t", checkpoints=[2], epoch_ends=[1, 2])
    (loss,) = figure.axes
    figure.canvas.draw()
    ticks = [t for t in loss.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert loss.get_xlabel() == "step"
    labels = {t.get_text(): t.get_position()[0] for t in loss.texts}
    # epoch 1 ends at the first step drawn: no room for its name (it was drawn left of the axes)
    assert labels == {"epoch 2": 1.5, "epoch 3": 2.5}
