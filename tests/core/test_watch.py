"""Watching a job, purely: metrics, the status view, a poll's plan, the loss curve, completion."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bot.core.job_events import Timeline
from bot.core.jobs import JobSnapshot
from bot.core.status import JobFacts, status_view
from bot.core.watch import (
    BAR_WIDTH,
    Event,
    MetricRow,
    Metrics,
    finish_words,
    metrics_from,
    metrics_from_dict,
    metrics_to_dict,
    new_events_since,
    parse_result_csv,
    progress_bar,
    row_from,
    rows_from_events,
)
from handlers.text import render

FULL, EMPTY = "▓", "░"
INF, NAN = float("inf"), float("nan")


def metrics(step: Any = 1, **data: Any) -> Event:
    """A metrics event as the gateway hands it over."""
    return Event(f"ftevent-{step}", 0, "info", f"Step {step}", "metrics", {"step": step, **data})


def message(event_id: str, text: str = "Fine-tuning job started", level: str = "info") -> Event:
    return Event(event_id, 0, level, text)


def snapshot(status: str = "running", **values: Any) -> JobSnapshot:
    return JobSnapshot(id="ftjob-abc", status=status, model="gpt-4o-mini-2024-07-18", **values)


# -- events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "is_metrics"),
    [
        (Event("e", 0, "info", "Step 1", "metrics", {}), True),  # typed as metrics
        (Event("e", 0, "info", "Step 1", "message", {"step": 1, "train_loss": 0.5}), True),
        (Event("e", 0, "info", "Step 1", "message", {"step": 1}), False),  # no loss: a message
        (Event("e", 0, "info", "Job started"), False),
        (Event("e", 0, "warn", "Slow", "message", {"train_loss": 0.5}), False),
    ],
)
def test_metrics_events_are_told_from_messages(event: Event, is_metrics: bool) -> None:
    assert event.is_metrics is is_metrics


# -- metrics -----------------------------------------------------------------------------

M5 = Metrics(5, 20, 0.5, 0.6, 0.7, 0.65)


@pytest.mark.parametrize(
    ("data", "previous", "expected"),
    [
        # the first event: total steps as reported, figures as they are
        (
            {"step": 1, "total_steps": 20, "train_loss": 2.0, "train_mean_token_accuracy": 0.5},
            Metrics(),
            Metrics(1, 20, 2.0, None, 0.5, None),
        ),
        # validation not measured at this step: the last measured figures stay
        ({"step": 6, "train_loss": 0.4}, M5, Metrics(6, 20, 0.4, 0.6, None, 0.65)),
        # the sampled validation figures
        (
            {"step": 6, "valid_loss": 0.55, "valid_mean_token_accuracy": 0.66},
            M5,
            Metrics(6, 20, None, 0.55, None, 0.66),
        ),
        # the full validation figures win over the sampled ones
        (
            {
                "step": 6,
                "valid_loss": 0.55,
                "full_valid_loss": 0.52,
                "valid_mean_token_accuracy": 0.66,
                "full_valid_mean_token_accuracy": 0.68,
            },
            M5,
            Metrics(6, 20, None, 0.52, None, 0.68),
        ),
        # a full figure alone, or next to a sampled None
        (
            {"step": 6, "valid_loss": None, "full_valid_loss": 0.52},
            M5,
            Metrics(6, 20, None, 0.52, None, 0.65),
        ),
        # the same step again (a replayed event) updates
        ({"step": 5, "train_loss": 0.45}, M5, Metrics(5, 20, 0.45, 0.6, None, 0.65)),
        # an older step arrives late: ignored
        ({"step": 4, "train_loss": 9.0}, M5, M5),
        # no step, or something that is not a step: ignored
        ({"train_loss": 9.0}, M5, M5),
        ({"step": None, "train_loss": 9.0}, Metrics(), Metrics()),
        ({"step": "7", "train_loss": 9.0}, M5, M5),
        ({"step": 7.5, "train_loss": 9.0}, M5, M5),
        ({"step": True, "train_loss": 9.0}, Metrics(), Metrics()),
        ({"step": -1, "train_loss": 9.0}, Metrics(), Metrics()),
        # figures that are not finite numbers are left out
        (
            {"step": 1, "train_loss": NAN, "valid_loss": INF, "train_mean_token_accuracy": True},
            Metrics(),
            Metrics(1, 1, None, None, None, None),
        ),
        ({"step": 1, "train_loss": "0.25"}, Metrics(), Metrics(1, 1, 0.25, None, None, None)),
        ({"step": 1, "train_loss": "lots"}, Metrics(), Metrics(1, 1, None, None, None, None)),
        # total steps: as reported, else the last known, else the step itself
        ({"step": 6}, M5, Metrics(6, 20, None, 0.6, None, 0.65)),
        ({"step": 3}, Metrics(), Metrics(3, 3, None, None, None, None)),
        ({"step": 3, "total_steps": 0}, Metrics(), Metrics(3, 3, None, None, None, None)),
        ({"step": 6, "total_steps": "lots"}, M5, Metrics(6, 20, None, 0.6, None, 0.65)),
        ({"step": 6, "total_steps": INF}, M5, Metrics(6, 20, None, 0.6, None, 0.65)),
        ({"step": 6, "total_steps": -5}, M5, Metrics(6, 20, None, 0.6, None, 0.65)),
        # huge numbers
        (
            {"step": 10**12, "total_steps": 10**13, "train_loss": 1e300},
            Metrics(),
            Metrics(10**12, 10**13, 1e300, None, None, None),
        ),
    ],
)
def test_metrics_from(data: dict[str, Any], previous: Metrics, expected: Metrics) -> None:
    assert metrics_from(metrics(**data), previous) == expected


# What OpenAI reports at a step, as one event: the status message and the chart must agree.
STEPS: list[dict[str, Any]] = [
    {"step": 1, "train_loss": 2.0, "train_mean_token_accuracy": 0.5},
    {"step": 2, "train_loss": 1.0, "valid_loss": 1.2, "valid_mean_token_accuracy": 0.6},
    {"step": 3, "train_loss": 0.8, "valid_loss": 1.1, "full_valid_loss": 0.9},
    {"step": 4, "full_valid_loss": 0.7, "full_valid_mean_token_accuracy": 0.8},
    {"step": 5, "valid_loss": None, "full_valid_loss": 0.6, "valid_mean_token_accuracy": 0.7},
    {"step": 6, "valid_loss": 0.5, "full_valid_loss": None, "full_valid_mean_token_accuracy": NAN},
]


@pytest.mark.parametrize("data", STEPS, ids=[f"step{d['step']}" for d in STEPS])
def test_the_status_message_and_the_chart_read_a_step_alike(data: dict[str, Any]) -> None:
    latest = metrics_from(metrics(**data), Metrics())
    (row,) = rows_from_events([metrics(**data)])
    assert (row.train_loss, row.valid_loss, row.train_accuracy, row.valid_accuracy) == (
        latest.train_loss,
        latest.valid_loss,
        latest.train_accuracy,
        latest.valid_accuracy,
    )


def test_the_last_point_of_the_chart_is_the_status_messages_figures() -> None:
    latest = Metrics()
    for data in STEPS:
        latest = metrics_from(metrics(**data), latest)
    rows = rows_from_events([metrics(**data) for data in STEPS])
    assert [r.valid_loss for r in rows] == [None, 1.2, 0.9, 0.7, 0.6, 0.5]
    assert [r.valid_accuracy for r in rows] == [None, 0.6, None, 0.8, 0.7, None]
    assert rows[-1].valid_loss == latest.valid_loss == 0.5


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, MetricRow(3, None, None, None, None)),
        (
            {"train_loss": 0.5, "train_accuracy": 0.6, "valid_loss": 0.7, "valid_accuracy": 0.8},
            MetricRow(3, 0.5, 0.7, 0.6, 0.8),
        ),
        (  # a result file's cells are text; empty ones are no figure
            {"train_loss": "0.5", "valid_loss": "", "valid_mean_token_accuracy": " 0.8 "},
            MetricRow(3, 0.5, None, None, 0.8),
        ),
        (  # the event names win over the result file's
            {"train_mean_token_accuracy": 0.6, "train_accuracy": 0.1},
            MetricRow(3, None, None, 0.6, None),
        ),
        (
            {"valid_mean_token_accuracy": 0.6, "valid_accuracy": 0.1},
            MetricRow(3, None, None, None, 0.6),
        ),
    ],
)
def test_row_from(data: dict[str, Any], expected: MetricRow) -> None:
    assert row_from(data, 3) == expected


@pytest.mark.parametrize(
    "value",
    [
        Metrics(),
        Metrics(12, 20, 0.5, None, 0.75, None),
        Metrics(10**12, 10**12, 1e-12, 1e300, 1.0, 0.0),
    ],
)
def test_metrics_survive_the_store(value: Metrics) -> None:
    assert metrics_from_dict(metrics_to_dict(value)) == value


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, Metrics()),
        ({}, Metrics()),
        ({"step": None, "total_steps": None}, Metrics()),
        ({"step": 3}, Metrics(step=3)),
        ({"step": 3, "total_steps": 9, "valid_loss": 0.5}, Metrics(3, 9, None, 0.5, None, None)),
    ],
)
def test_metrics_from_dict(stored: dict[str, Any] | None, expected: Metrics) -> None:
    assert metrics_from_dict(stored) == expected


# -- progress ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "total", "expected"),
    [
        (0, 0, EMPTY * BAR_WIDTH),  # zero steps: an empty bar, no share
        (5, 0, EMPTY * BAR_WIDTH),
        (3, -1, EMPTY * BAR_WIDTH),
        (0, 20, EMPTY * 20 + " 0% (0/20 steps)"),
        (8, 20, FULL * 8 + EMPTY * 12 + " 40% (8/20 steps)"),
        (1, 3, FULL * 7 + EMPTY * 13 + " 33% (1/3 steps)"),
        (20, 20, FULL * 20 + " 100% (20/20 steps)"),
        (25, 20, FULL * 20 + " 100% (25/20 steps)"),  # past the end: full, not more
        (-1, 20, EMPTY * 20 + " 0% (-1/20 steps)"),
        (
            5 * 10**11,
            10**12,
            FULL * 10 + EMPTY * 10 + " 50% (500,000,000,000/1,000,000,000,000 steps)",
        ),
    ],
)
def test_progress_bar(step: int, total: int, expected: str) -> None:
    assert progress_bar(step, total) == expected


# -- the status message's body (bot.core.status builds it from these parts) ---------------

T0 = 1_700_000_000
STARTED = "Started <!date^1700000000^{time}|22:13 UTC>"
STARTED_DAY = "Started <!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC>"


def body(job: JobSnapshot, latest: Metrics, now: int) -> list[str]:
    facts = JobFacts(owner_id="U1", model=job.model, remote_id=job.id)
    view = status_view(facts=facts, snapshot=job, metrics=latest, timeline=Timeline(), now=now)
    return [render(line) for line in view.body]


@pytest.mark.parametrize(
    ("job", "latest", "now", "expected"),
    [
        (
            snapshot(),
            Metrics(8, 20, 0.51234, None, 0.756, None),
            T0,
            [
                f"`{FULL * 8}{EMPTY * 12} 40% (8/20 steps)`",
                "training loss 0.5123 · training accuracy 75.6%",
            ],
        ),
        (
            snapshot(),
            Metrics(0, 0, None, 0.25, None, 0.5),  # no steps known yet: no bar
            T0,
            ["validation loss 0.25 · validation accuracy 50.0%"],
        ),
        # elapsed time while running: in whole 10 minutes, so an idle job needs no edit
        (snapshot(created_at=T0), Metrics(), T0 + 599, [f"{STARTED} · elapsed under 10 min"]),
        (snapshot(created_at=T0), Metrics(), T0 + 3725, [f"{STARTED} · elapsed 1 h"]),
        (
            snapshot(created_at=T0, estimated_finish=T0 + 7200),
            Metrics(),
            T0 + 60,
            [
                f"{STARTED} · elapsed under 10 min · finishes around "
                f"<!date^{T0 + 7200}^{{date_short_pretty}} {{time}}|2023-11-15 00:13 UTC> (in 2 h)"
            ],
        ),
        # finished: the exact duration, no estimate
        (
            snapshot("succeeded", created_at=T0, finished_at=T0 + 3725, estimated_finish=T0),
            Metrics(),
            T0 + 10**6,
            [
                f"{STARTED_DAY} · finished <!date^{T0 + 3725}^{{date_short_pretty}} {{time}}|"
                "2023-11-14 23:15 UTC> (1 h 2 min)"
            ],
        ),
        (
            snapshot("cancelled", created_at=T0, finished_at=T0 + 125),
            Metrics(),
            T0 + 10**6,
            [
                f"{STARTED_DAY} · ended <!date^{T0 + 125}^{{date_short_pretty}} {{time}}|"
                "2023-11-14 22:15 UTC> (2 min 5 s)"
            ],
        ),
        # a clock behind the job's creation never shows negative time
        (snapshot(created_at=T0), Metrics(), T0 - 500, [f"{STARTED} · elapsed under 10 min"]),
    ],
)
def test_status_body(job: JobSnapshot, latest: Metrics, now: int, expected: list[str]) -> None:
    assert body(job, latest, now) == expected


NOON = 1_700_049_600  # 2023-11-15 12:00 UTC


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        (
            NOON + 12 * 60 + 20,
            f"finishes around <!date^{NOON + 740}^{{time}}|12:12 UTC> (in 12 min)",
        ),
        (NOON + 30, f"finishes around <!date^{NOON + 30}^{{time}}|12:00 UTC> (any moment now)"),
        # far off: in 5-minute steps, so the status message isn't edited every minute
        (
            NOON + 3_900 + 100,
            f"finishes around <!date^{NOON + 4000}^{{time}}|13:06 UTC> (in 1 h 5 min)",
        ),
        # another day: with its date, in the reader's zone and in the fallback
        (
            NOON + 13 * 3600,
            f"finishes around <!date^{NOON + 46_800}^{{date_short_pretty}} {{time}}|"
            "2023-11-16 01:00 UTC> (in 13 h)",
        ),
        (NOON - 600, f"was expected to finish around <!date^{NOON - 600}^{{time}}|11:50 UTC>"),
    ],
)
def test_finish_estimate_reads_as_a_time_and_how_long(finish: int, expected: str) -> None:
    """Never a bare time, never "soon"."""
    assert render(finish_words(finish, NOON)) == expected


def test_status_view_moves_only_every_ten_minutes_while_running() -> None:
    job = snapshot(created_at=T0)
    views = {str(body(job, Metrics(), T0 + second)) for second in range(0, 600, 7)}
    assert len(views) == 1
    assert str(body(job, Metrics(), T0 + 600)) not in views


# -- paging events -----------------------------------------------------------------------

PAGE = [message("e5"), message("e4"), message("e3")]  # newest first, as the API lists them


@pytest.mark.parametrize(
    ("page", "cursor", "fresh", "reached"),
    [
        (PAGE, "e4", ["e5"], True),
        (PAGE, "e5", [], True),  # nothing new
        (PAGE, "e3", ["e5", "e4"], True),
        (PAGE, None, ["e5", "e4", "e3"], False),  # first poll: all of it, read on
        (PAGE, "e1", ["e5", "e4", "e3"], False),  # the cursor is on an older page
        ([], "e1", [], False),
        ([], None, [], False),
    ],
)
def test_new_events_since(
    page: list[Event], cursor: str | None, fresh: list[str], reached: bool
) -> None:
    events, found = new_events_since(page, cursor)
    assert [e.id for e in events] == fresh and found is reached


# -- the loss curve ----------------------------------------------------------------------

CSV = (
    "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
    "1,2.0,0.5,,\n"
    "2,1.0,0.6,1.2,0.55\n"
)
CSV_ROWS = [MetricRow(1, 2.0, None, 0.5, None), MetricRow(2, 1.0, 1.2, 0.6, 0.55)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (CSV, CSV_ROWS),
        (CSV.encode(), CSV_ROWS),
        (base64.b64encode(CSV.encode()), CSV_ROWS),  # how the files API may hand it over
        (base64.b64encode(CSV.encode()).decode(), CSV_ROWS),
        ("\n  " + CSV, CSV_ROWS),
        (CSV.replace("\n", "\r\n"), CSV_ROWS),
        (  # newer files carry the full validation figures too: they win, as in the status
            "step,train_loss,valid_loss,full_valid_loss,full_valid_mean_token_accuracy\n"
            "3,0.8,1.1,0.9,0.7\n",
            [MetricRow(3, 0.8, 0.9, None, 0.7)],
        ),
        ("step,train_loss\n", []),  # a header only
        (
            "step,train_loss\n1,0.5\nabc,1\n,2\ninf,3\n-1,4\n2.0,0.25\n",
            [
                MetricRow(1, 0.5, None, None, None),
                MetricRow(2, 0.25, None, None, None),
            ],
        ),
        (
            "step,train_loss\n1,nan\n2,inf\n3,x\n",
            [
                MetricRow(1, None, None, None, None),
                MetricRow(2, None, None, None, None),
                MetricRow(3, None, None, None, None),
            ],
        ),
        ("", []),
        (b"", []),
        ("not a csv !!!", []),
        (b"\xff\xfe\x00garbage", []),
        (base64.b64encode(b"\xff\xfe garbage"), []),
        (
            "step\n" + "\n".join(str(n) for n in range(1, 4)),
            [MetricRow(n, None, None, None, None) for n in (1, 2, 3)],
        ),
    ],
)
def test_parse_result_csv(raw: bytes | str, expected: list[MetricRow]) -> None:
    assert parse_result_csv(raw) == expected


@pytest.mark.parametrize(
    ("events", "steps"),
    [
        ([], []),
        ([message("e1"), message("e2")], []),  # no metrics at all
        ([metrics(3, train_loss=1.0), metrics(1, train_loss=2.0)], [1, 3]),  # sorted by step
        ([metrics(None, train_loss=1.0), metrics(True, train_loss=1.0)], []),
        ([metrics(-2, train_loss=1.0), metrics("4", train_loss=1.0)], []),
        ([metrics(10**12, train_loss=1.0)], [10**12]),
    ],
)
def test_rows_from_events_steps(events: list[Event], steps: list[int]) -> None:
    assert [row.step for row in rows_from_events(events)] == steps


def test_rows_from_events_a_replayed_step_keeps_its_last_figures() -> None:
    rows = rows_from_events([metrics(2, train_loss=1.0), metrics(2, train_loss=0.9)])
    assert rows == [MetricRow(2, 0.9, None, None, None)]
