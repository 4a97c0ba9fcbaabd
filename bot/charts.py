"""Loss and accuracy charts (matplotlib, Agg backend) as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import pairwise

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from bot.core.watch import MetricRow

TITLE_LIMIT = 100
MAX_MARKS = 60  # more vertical lines than this would hide the curves: none are drawn then
CHECKPOINT_COLOR = "tab:green"
EPOCH_COLOR = "0.55"
MAX_EPOCH_LABELS = 21  # epochs named at the top of the chart, up to 20


def loss_chart(
    rows: Sequence[MetricRow],
    *,
    title: str,
    subtitle: str = "",
    checkpoints: Sequence[int] = (),
    epoch_ends: Sequence[int] = (),
) -> bytes:
    """The chart of `loss_figure` as PNG bytes."""
    figure = loss_figure(
        rows, title=title, subtitle=subtitle, checkpoints=checkpoints, epoch_ends=epoch_ends
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def loss_figure(
    rows: Sequence[MetricRow],
    *,
    title: str,
    subtitle: str = "",
    checkpoints: Sequence[int] = (),
    epoch_ends: Sequence[int] = (),
) -> Figure:
    """Training/validation loss (top) and token accuracy in % (bottom, only when the backend
    reports accuracy: Together AI does not) by step, as a PNG, with a dashed line at each
    checkpoint's step and every other epoch shaded (`epoch_ends`: the steps where an epoch
    ends). `title` (over the chart) and `subtitle` (under it) are drawn as plain text."""
    with_accuracy = has_accuracy(rows)
    figure = Figure(figsize=(9, 6 if with_accuracy else 4), dpi=100, layout="constrained")
    panels = figure.subplots(2 if with_accuracy else 1, 1, sharex=True, squeeze=False)[:, 0]
    loss = panels[0]
    steps = [r.step for r in rows]
    series_of = [
        (
            loss,
            (
                ("training loss", [r.train_loss for r in rows]),
                ("validation loss", [r.valid_loss for r in rows]),
            ),
        )
    ]
    if with_accuracy:
        series_of.append(
            (
                panels[1],
                (
                    ("training accuracy", [r.train_accuracy for r in rows]),
                    ("validation accuracy", [r.valid_accuracy for r in rows]),
                ),
            )
        )
    for axes, series in series_of:
        for label, values in series:
            points = [(s, v) for s, v in zip(steps, values, strict=True) if v is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, label=label, marker="." if len(points) < 50 else None)
        _epochs(axes, epoch_ends, first=min(steps, default=0), last=max(steps, default=0),
                label=axes is loss)  # fmt: skip
        _marks(axes, checkpoints, CHECKPOINT_COLOR, "--", "checkpoint")
        if axes.has_data():
            axes.legend(loc="best", fontsize="small")
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    loss.set_ylabel("loss")
    if with_accuracy:
        panels[1].set_ylabel("token accuracy")
        panels[1].yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    panels[-1].set_xlabel("step")
    # parse_math=False: a `$` in a dataset's name is text, not a formula to typeset. The
    # subtitle (model and job id) goes on its own line: beside a long title they overlapped.
    loss.set_title(_clip(title), parse_math=False, loc="left", fontweight="bold")
    if subtitle:
        figure.supxlabel(_clip(subtitle), fontsize="small", color="0.35")
    return figure


def has_accuracy(rows: Sequence[MetricRow]) -> bool:
    """Whether any row has a token accuracy (Together AI reports none: no empty panel)."""
    return any(r.train_accuracy is not None or r.valid_accuracy is not None for r in rows)


def _marks(axes: Axes, steps: Sequence[int], color: str, style: str, label: str) -> None:
    """A vertical line at each step (one legend entry for all of them)."""
    if not steps or len(steps) > MAX_MARKS:
        return
    for index, step in enumerate(steps):
        axes.axvline(
            step,
            color=color,
            linestyle=style,
            linewidth=1,
            alpha=0.8,
            label=label if index == 0 else None,
        )


def _epochs(axes: Axes, ends: Sequence[int], *, first: int, last: int, label: bool) -> None:
    """Every other epoch shaded, each epoch's number at the top (`label`) when few enough,
    within the steps drawn (`first` to `last`: a label left of the first step was drawn
    outside the chart)."""
    if not ends or len(ends) > MAX_MARKS:
        return
    edges = [0, *ends, max(last, ends[-1])]
    for number, (start, end) in enumerate(pairwise(edges), start=1):
        if number % 2 == 0:
            axes.axvspan(start, end, color=EPOCH_COLOR, alpha=0.12, linewidth=0)
        shown = max(start, first)
        if label and len(edges) <= MAX_EPOCH_LABELS and end > shown:
            axes.text(
                (shown + end) / 2,
                0.99,
                f"epoch {number}",
                transform=axes.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize="x-small",
                color="0.35",
            )


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"
