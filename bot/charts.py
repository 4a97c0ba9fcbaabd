"""Loss and accuracy charts (matplotlib, Agg backend) as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from bot.core.watch import MetricRow


def loss_chart(rows: Sequence[MetricRow], *, title: str) -> bytes:
    """Training/validation loss and token accuracy by step, as a PNG."""
    figure = Figure(figsize=(9, 6), dpi=100, layout="constrained")
    loss, accuracy = figure.subplots(2, 1, sharex=True)
    steps = [r.step for r in rows]
    for axes, series in (
        (
            loss,
            (
                ("training loss", [r.train_loss for r in rows]),
                ("validation loss", [r.valid_loss for r in rows]),
            ),
        ),
        (
            accuracy,
            (
                ("training accuracy", [r.train_accuracy for r in rows]),
                ("validation accuracy", [r.valid_accuracy for r in rows]),
            ),
        ),
    ):
        for label, values in series:
            points = [(s, v) for s, v in zip(steps, values, strict=True) if v is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, label=label, marker="." if len(points) < 50 else None)
        if axes.has_data():
            axes.legend(loc="best")
        axes.grid(alpha=0.3)
    loss.set_ylabel("loss")
    accuracy.set_ylabel("token accuracy")
    accuracy.set_xlabel("step")
    loss.set_title(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
