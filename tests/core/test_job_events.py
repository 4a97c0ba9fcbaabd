"""Which job events become replies and which fold into the status message's timeline, on every
backend's event shapes; and one poll as notices (each recorded once under its key)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.backends.together_events import job_events
from bot.core.job_events import (
    Timeline,
    TimelineEntry,
    classify,
    job_label,
    plan_update,
    short_id,
    timeline_text,
)
from bot.core.jobs import JobSnapshot
from bot.core.watch import Event, Metrics, Notice

T0 = 1_700_000_000


def openai(message: str, level: str = "info", **data: Any) -> Event:
    """An event as OpenAI (and Azure OpenAI, the same shape) lists it."""
    kind = "metrics" if "train_loss" in data else "message"
    return Event("ftevent-1", T0, level, message, kind, data)


def together(kind: str, message: str, level: str = "info") -> Event:
    """An event as Together lists it, through the adapter that gives it an id."""
    return job_events([{"type": kind, "message": message, "level": level, "created_at": T0}])[0]


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        # OpenAI's routine progress (cookbook and dashboard texts)
        (openai("Created fine-tuning job: ftjob-abc"), "routine"),
        (openai("Validating training file: file-9qgY and validation file: file-2"), "routine"),
        (openai("Files validated, moving job to queued state"), "routine"),
        (openai("Fine-tuning job started"), "routine"),
        (openai("Checkpoint created at step 7 with Snapshot ID: ft:x:ckpt-step-7"), "routine"),
        (openai("New fine-tuned model created: ft:gpt-4o-mini:org::abc"), "routine"),
        (openai("Evaluating model against our usage policies"), "routine"),
        (
            openai("Usage policy evaluations completed, model is now enabled for sampling"),
            "routine",
        ),
        (openai("The job has successfully completed"), "routine"),
        (openai("Step 3/20: training loss=0.52", step=3, train_loss=0.52), "metrics"),
        # what a user must read
        (openai("Training loss is not decreasing", level="warn"), "warning"),
        (openai("The job failed due to an internal error.", level="error"), "error"),
        # Azure OpenAI: the same shapes, its own words
        (openai("Job enqueued. Waiting for jobs ahead to complete."), "routine"),
        (openai("Training tokens billed: 13936", level="info"), "routine"),
        (openai("Validation file has duplicate examples", level="warning"), "warning"),
        # Together: its event types, whatever their level
        (together("job_pending", "Fine tune request created"), "routine"),
        (together("model_downloading", "Downloading model"), "routine"),
        (together("training_start", "Training started"), "routine"),
        (together("checkpoint_save", "New checkpoint saved at step 4"), "routine"),
        (together("epoch_complete", "Epoch 1 completed"), "routine"),
        (together("model_uploading", "Uploading output model"), "routine"),
        (together("job_complete", "Job finished. Model output: acct/model"), "routine"),
        (together("cancel_requested", "Cancel requested"), "routine"),
        (together("job_stopped", "Job was cancelled"), "routine"),
        (together("warning", "Learning rate is high"), "warning"),
        (together("billing_limit", "Close to the billing limit"), "warning"),
        (together("job_restarted", "Job restarted after a node failure"), "warning"),
        (together("job_error", "Out of memory"), "error"),
        (together("anything", "x", level="legacy_iwarning"), "warning"),
        (together("anything", "x", level="legacy_ierror"), "error"),
    ],
)
def test_events_are_classified(event: Event, kind: str) -> None:
    assert classify(event) == kind


@pytest.mark.parametrize(
    ("event", "failed_with", "kind"),
    [
        # the failure notice carries the error: its event is not a second reply
        (
            openai("Training file has 3 example(s)", level="error"),
            "Training file has 3 example(s)",
            "routine",
        ),
        (together("job_error", "Out of  memory"), "Out of memory", "routine"),
        # another error than the one the job ended with is still a reply
        (openai("Disk full", level="error"), "Training file has 3 example(s)", "error"),
    ],
)
def test_the_error_a_job_failed_with_is_not_a_second_reply(
    event: Event, failed_with: str, kind: str
) -> None:
    assert classify(event, failed_with=failed_with) == kind


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "Checkpoint created at step 7 with Snapshot ID: ft:x:ckpt-step-7",
            "Checkpoint created at step 7",
        ),
        ("New fine-tuned model created: ft:gpt-4o-mini:org::abc", "New fine-tuned model created"),
        ("Created fine-tuning job: ftjob-abc", "Created fine-tuning job"),
        ("Validating training file: file-9qgY", "Validating training file"),
        (
            "Validating training file: file-1 and validation file: file-2",
            "Validating training and validation files",
        ),
        ("Job finished. Model output: acct/model-x", "Job finished"),
        ("Fine-tuning  job\nstarted", "Fine-tuning job started"),  # one line
        ("x" * 300, "x" * 119 + "…"),
        ("", "event"),
    ],
)
def test_timeline_text_is_compact(message: str, shown: str) -> None:
    assert timeline_text(message) == shown


@pytest.mark.parametrize(
    ("remote_id", "suffix", "label"),
    [
        ("ftjob-abc123def456ghi789jkl012", None, "ftjob-abc123de"),
        ("ft-12345678-aaaa-bbbb-cccc-1234567890ab", None, "ft-12345678"),
        ("ftjob-abc123def456ghi789jkl012", "sports", "sports"),
        ("ftjob-abc", "  ", "ftjob-abc"),
        (None, None, "job"),
    ],
)
def test_replies_name_their_job(remote_id: str | None, suffix: str | None, label: str) -> None:
    assert job_label(remote_id, suffix) == label


def test_a_short_id_is_a_prefix_the_commands_accept() -> None:
    remote = "ftjob-abc123def456ghi789jkl012"
    assert remote.startswith(short_id(remote))


def test_a_stored_entry_reads_back_even_when_odd() -> None:
    assert TimelineEntry.from_payload({"at": T0, "text": "x"}) == TimelineEntry(T0, "x")
    assert TimelineEntry.from_payload({"at": "soon", "text": None}) == TimelineEntry(0, "")
    assert Timeline().entries == () and Timeline().earlier == 0


# -- one poll ----------------------------------------------------------------------------


def snapshot(status: str = "running", **values: Any) -> JobSnapshot:
    return JobSnapshot(id="ftjob-abc", status=status, model="gpt-4o-mini-2024-07-18", **values)


def plan(job: JobSnapshot, events: list[Event], **kwargs: Any) -> Any:
    values: dict[str, Any] = {"previous_metrics": Metrics(), "previous_status": "running"}
    return plan_update(snapshot=job, new_events=events, **{**values, **kwargs})


def message(event_id: str, text: str, level: str = "info", at: int = T0) -> Event:
    return Event(event_id, at, level, text)


def metrics(step: int, **data: Any) -> Event:
    return Event(f"ftevent-m{step}", T0, "info", f"Step {step}", "metrics", {"step": step, **data})


FINAL = (Notice("chart", "final", {}), Notice("checkpoints", "final", {}))


@pytest.mark.parametrize(
    ("status", "previous_status", "notices", "finished_now"),
    [
        ("running", "queued", (), False),
        ("paused", "running", (), False),
        ("some_new_status", "running", (), False),  # unknown statuses count as still going
        (
            "succeeded",
            "running",
            (Notice("completion", "succeeded", {"status": "succeeded"}), *FINAL),
            True,
        ),
        (
            "succeeded",
            None,  # never seen before (adopted after it ended)
            (Notice("completion", "succeeded", {"status": "succeeded"}), *FINAL),
            True,
        ),
        # seen finished before: the same keys again (the store posts each once), not "now"
        (
            "succeeded",
            "succeeded",
            (Notice("completion", "succeeded", {"status": "succeeded"}), *FINAL),
            False,
        ),
        ("failed", "running", (Notice("completion", "failed", {"status": "failed"}),), True),
        (
            "cancelled",
            "queued",
            (Notice("completion", "cancelled", {"status": "cancelled"}),),
            True,
        ),
    ],
)
def test_plan_update_notices_by_status(
    status: str, previous_status: str | None, notices: tuple[Notice, ...], finished_now: bool
) -> None:
    update = plan(snapshot(status), [], previous_status=previous_status)
    assert update.notices == notices
    assert update.finished_now is finished_now


def test_routine_events_go_to_the_timeline_warnings_and_errors_are_replies() -> None:
    events = [  # oldest first
        message("ftevent-a", "Files validated, moving job to queued state"),
        metrics(1, total_steps=4, train_loss=1.0),
        message("ftevent-b", "Loss is spiking", level="warn", at=T0 + 5),
        message("ftevent-c", "Checkpoint created at step 2 with Snapshot ID: ft:x", at=T0 + 9),
        message("ftevent-d", "Something broke", level="error"),
        metrics(2, train_loss=0.5),
    ]
    update = plan(snapshot(), events, held=frozenset({"ftevent-d"}))  # seen by the last poll
    assert update.notices == (
        Notice(
            "timeline",
            "ftevent-a",
            {"at": T0, "text": "Files validated, moving job to queued state"},
        ),
        Notice("event", "ftevent-b", {"message": "Loss is spiking", "level": "warn"}),
        Notice("timeline", "ftevent-c", {"at": T0 + 9, "text": "Checkpoint created at step 2"}),
        Notice("event", "ftevent-d", {"message": "Something broke", "level": "error"}),
    )
    assert update.metrics == Metrics(2, 4, 0.5, None, None, None)
    assert not update.finished_now
    assert update.cursor == "ftevent-m2" and update.held == frozenset()


RUNNING_ERROR = message("ftevent-e", "Too few examples", level="error")
FAILED = snapshot("failed", error_code="invalid_n_examples", error_message="Too few examples")
OTHER = snapshot("failed", error_code="server", error_message="Internal error")
TIMELINE_E = Notice("timeline", "ftevent-e", {"at": T0, "text": "Too few examples"})
REPLY_E = Notice("event", "ftevent-e", {"message": "Too few examples", "level": "error"})


@pytest.mark.parametrize(
    ("job", "held", "recorded", "cursor", "holding"),
    [
        # first seen while the job runs: held back, the cursor stays before it
        (snapshot(), frozenset(), (), "ftevent-a", {"ftevent-e"}),
        (snapshot("queued"), frozenset(), (), "ftevent-a", {"ftevent-e"}),
        # the job failed in between: the same error folds into the timeline, once
        (FAILED, frozenset({"ftevent-e"}), (TIMELINE_E, Notice("completion", "failed", {"status": "failed"})), "ftevent-b", set()),
        (FAILED, frozenset(), (TIMELINE_E, Notice("completion", "failed", {"status": "failed"})), "ftevent-b", set()),
        # still running a poll later: a genuine error, a reply now (never lost)
        (snapshot(), frozenset({"ftevent-e"}), (REPLY_E,), "ftevent-b", set()),
        # failed with another error: both are said
        (OTHER, frozenset(), (REPLY_E, Notice("completion", "failed", {"status": "failed"})), "ftevent-b", set()),
        # cancelled meanwhile: the error is a reply, not held (the job is over)
        (snapshot("cancelled"), frozenset(), (REPLY_E, Notice("completion", "cancelled", {"status": "cancelled"})), "ftevent-b", set()),
    ],
)  # fmt: skip
def test_an_error_of_a_running_job_is_held_back_one_poll(
    job: JobSnapshot,
    held: frozenset[str],
    recorded: tuple[Notice, ...],
    cursor: str,
    holding: set[str],
) -> None:
    events = [
        message("ftevent-a", "Fine-tuning job started"),
        RUNNING_ERROR,
        message("ftevent-b", "Loss is spiking", level="warn"),
    ]
    update = plan(job, events, cursor="ftevent-0", held=held)
    assert [n for n in update.notices if n.key != "ftevent-a" and n.key != "ftevent-b"] == list(
        recorded
    )
    # the events around it are recorded now (recorded again later: the store keeps one)
    assert [n.key for n in update.notices[:1]] == ["ftevent-a"]
    assert any(n.key == "ftevent-b" for n in update.notices)
    assert update.cursor == cursor and update.held == holding


def test_a_held_error_first_in_the_page_keeps_the_stored_cursor() -> None:
    update = plan(snapshot(), [RUNNING_ERROR, metrics(3, train_loss=0.3)], cursor="ftevent-0")
    assert update.notices == () and update.cursor == "ftevent-0"
    assert update.held == {"ftevent-e"} and update.metrics.step == 3
    assert plan(snapshot(), [], cursor="ftevent-0").cursor == "ftevent-0"


def test_a_failure_event_folds_into_the_timeline_and_the_outcome_says_it() -> None:
    job = snapshot("failed", error_code="invalid_n_examples", error_message="Too few examples")
    update = plan(job, [message("ftevent-e", "Too few examples", level="error")])
    assert [n.kind for n in update.notices] == ["timeline", "completion"]


def test_a_success_records_the_last_validation_loss_for_the_outcome() -> None:
    latest = Metrics(18, 20, 0.4, 0.48, None, None)
    update = plan(snapshot("succeeded"), [], previous_metrics=latest)
    assert update.notices[0] == Notice(
        "completion", "succeeded", {"status": "succeeded", "valid_loss": 0.48}
    )
    assert update.metrics.step == 20  # the last steps' events may never come


@pytest.mark.parametrize(
    ("status", "latest", "expected_step"),
    [
        ("succeeded", Metrics(18, 20), 20),
        ("succeeded", Metrics(0, 0), 0),  # no steps known: nothing to complete
        ("failed", Metrics(18, 20), 18),
        ("cancelled", Metrics(3, 20), 3),
    ],
)
def test_plan_update_completes_the_bar_only_on_success(
    status: str, latest: Metrics, expected_step: int
) -> None:
    assert plan(snapshot(status), [], previous_metrics=latest).metrics.step == expected_step


def test_plan_update_with_nothing_new_keeps_the_metrics() -> None:
    latest = Metrics(5, 20, 0.5, 0.6, 0.7, 0.65)
    update = plan(snapshot(), [], previous_metrics=latest)
    assert update.metrics == latest and update.notices == ()
