"""Job state, purely: statuses in words, OpenAI errors in plain words, snapshots from the API."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.job_settings import JobSettings
from bot.core.jobs import (
    NOT_CONFIGURED,
    STATUS_TEXT,
    TERMINAL,
    WIND_DOWN_URL,
    JobSnapshot,
    ServiceError,
    explain,
    snapshot_from,
    status_text,
)


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("validating_files", "validating files"),
        ("queued", "queued"),
        ("running", "running"),
        ("paused", "paused"),
        ("succeeded", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
        (None, "unknown"),
        ("", "unknown"),
        ("some_new_status", "some_new_status"),  # shown as it is (a value: escaped when shown)
        ("<!channel>", "<!channel>"),
    ],
)
def test_status_text(status: str | None, text: str) -> None:
    assert status_text(status) == text


def test_every_terminal_status_has_words() -> None:
    assert TERMINAL.issubset(STATUS_TEXT)


@pytest.mark.parametrize(
    ("status", "finished"),
    [
        ("validating_files", False),
        ("queued", False),
        ("running", False),
        ("paused", False),
        ("succeeded", True),
        ("failed", True),
        ("cancelled", True),
        ("unknown", False),  # unknown statuses count as still going
        ("cancelling", False),
        ("", False),
    ],
)
def test_finished(status: str, finished: bool) -> None:
    assert JobSnapshot(id="ftjob-1", status=status, model="m").finished is finished


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "message", "param", "expected"),
    [
        (
            "invalid_request",
            "Invalid 'n_epochs': must be at most 50.",
            "n_epochs",
            "OpenAI rejected the request (field `n_epochs`): Invalid 'n_epochs': must be at most 50.",
        ),
        (
            "invalid_request",
            "Model not available for fine-tuning.",
            None,
            "OpenAI rejected the request: Model not available for fine-tuning.",
        ),
        (
            "rate_limited",
            "Rate limit reached",
            None,
            "OpenAI is rate-limiting us right now (Rate limit reached). Nothing was lost: try again.",
        ),
        (
            "unavailable",
            "502 Bad Gateway",
            None,
            "OpenAI did not answer properly (502 Bad Gateway). Nothing was lost: try again.",
        ),
        (
            "auth",
            "Incorrect API key provided: sk-abc***",  # never echoed: it names the key
            None,
            "OpenAI refused our API key (OPENAI_API_KEY). Ask an admin to check it.",
        ),
        (
            "not_found",
            "No such job: ftjob-x",
            None,
            "OpenAI does not know that: No such job: ftjob-x",
        ),
        ("something_new", "It broke.", None, "It broke."),  # unknown kinds: the message
    ],
)
def test_explain_per_kind(kind: str, message: str, param: str | None, expected: str) -> None:
    assert str(explain(kind, message, param)) == expected


def test_training_not_available_explains_the_wind_down_without_the_raw_message() -> None:
    text = str(explain("training_not_available", "org-123 may not create jobs", None))
    assert WIND_DOWN_URL in text and "org-123" not in text
    assert "Validation, cost estimates, uploads and existing models keep working." in text


@pytest.mark.parametrize(
    ("kind", "message", "param", "needle", "absent"),
    [
        # OpenAI's words may echo user input: they are a value, so no mention, link or code
        # span survives rendering
        ("invalid_request", "bad suffix <!channel>", None, "bad suffix &lt;!channel&gt;", "<!"),
        ("not_found", "no `model` <@U1>", None, "no `model` &lt;@U1&gt;", "<@U1>"),
        ("invalid_request", "x", "a`b<c>", "(field `aˋb&lt;c&gt;`)", "<c>"),
    ],
)
def test_explain_makes_openais_words_inert(
    kind: str, message: str, param: str | None, needle: str, absent: str
) -> None:
    from handlers.text import render

    text = render(explain(kind, message, param))
    assert needle in text and absent not in text


def test_explain_shortens_a_huge_message() -> None:
    text = str(explain("something_new", "x" * 100_000, None))
    assert len(text) == 500


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [
        ("rate_limited", True),
        ("unavailable", True),
        ("invalid_request", False),
        ("auth", False),
        ("not_found", False),
        ("training_not_available", False),
        ("something_new", False),
    ],
)
def test_service_error(kind: str, retryable: bool) -> None:
    error = ServiceError(kind, "Invalid value <x>", param="seed")
    assert error.retryable is retryable
    assert error.kind == kind and error.param == "seed" and str(error) == "Invalid value <x>"
    assert error.explained == explain(kind, "Invalid value <x>", "seed")


def test_not_configured_names_the_setting() -> None:
    assert "OPENAI_API_KEY" in NOT_CONFIGURED and "\n" not in NOT_CONFIGURED


# -- snapshots ---------------------------------------------------------------------------

JOB: dict[str, Any] = {  # a job object as the API returns it (model_dump of the SDK's)
    "object": "fine_tuning.job",
    "id": "ftjob-abc123",
    "model": "gpt-4o-mini-2024-07-18",
    "created_at": 1_700_000_000,
    "finished_at": 1_700_003_600,
    "estimated_finish": None,
    "fine_tuned_model": "ft:gpt-4o-mini-2024-07-18:org::abc",
    "organization_id": "org-test",
    "result_files": ["file-result"],
    "status": "succeeded",
    "validation_file": "file-valid",
    "training_file": "file-train",
    "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8},
    "trained_tokens": 173_148,
    "error": None,
    "user_provided_suffix": None,
    "seed": 7,
    "integrations": [],
    "metadata": {"ftbot": "key-1"},
    "method": {"type": "supervised"},
    "usage_metrics": None,
}

FULL = JobSnapshot(
    id="ftjob-abc123",
    status="succeeded",
    model="gpt-4o-mini-2024-07-18",
    created_at=1_700_000_000,
    finished_at=1_700_003_600,
    estimated_finish=None,
    fine_tuned_model="ft:gpt-4o-mini-2024-07-18:org::abc",
    trained_tokens=173_148,
    training_file="file-train",
    validation_file="file-valid",
    metadata={"ftbot": "key-1"},
    result_files=("file-result",),
    settings=JobSettings(method="supervised", epochs=3, batch_size=1, lr_multiplier=1.8, seed=7),
)
EMPTY = JobSnapshot(id="", status="unknown", model="")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JOB, FULL),
        ({**JOB, "some_field_from_next_year": {"x": 1}}, FULL),  # unknown fields ignored
        ({}, EMPTY),  # every field missing
        ({key: None for key in JOB}, EMPTY),  # every field null
        ({"id": "ftjob-1", "status": "running"}, JobSnapshot("ftjob-1", "running", "")),
        ({"status": "new_status"}, JobSnapshot("", "new_status", "")),  # unknown status kept
        ({"id": 42}, JobSnapshot("42", "unknown", "")),
        (
            {**JOB, "status": "running", "finished_at": None, "estimated_finish": 1_700_007_200},
            JobSnapshot(
                id=FULL.id,
                status="running",
                model=FULL.model,
                created_at=FULL.created_at,
                estimated_finish=1_700_007_200,
                fine_tuned_model=FULL.fine_tuned_model,
                trained_tokens=FULL.trained_tokens,
                training_file=FULL.training_file,
                validation_file=FULL.validation_file,
                metadata=FULL.metadata,
                result_files=FULL.result_files,
                settings=FULL.settings,
            ),
        ),
    ],
)
def test_snapshot_from(data: dict[str, Any], expected: JobSnapshot) -> None:
    assert snapshot_from(data) == expected


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (None, None, None),
        ({}, None, None),
        (
            {"code": "invalid_n_examples", "message": "Too few.", "param": None},
            "invalid_n_examples",
            "Too few.",
        ),
        ({"code": None, "message": "Something odd."}, None, "Something odd."),
        ({"message": "No code."}, None, "No code."),
        ("a plain string", None, None),  # not the documented shape: ignored
        (["a", "list"], None, None),
    ],
)
def test_snapshot_from_reads_the_error(error: Any, code: str | None, message: str | None) -> None:
    job = snapshot_from({**JOB, "status": "failed", "error": error})
    assert (job.error_code, job.error_message) == (code, message)
    assert job.status == "failed" and job.finished


@pytest.mark.parametrize(
    ("values", "metadata", "result_files"),
    [
        ({"metadata": None, "result_files": None}, {}, ()),
        ({"metadata": {}, "result_files": []}, {}, ()),
        (
            {"metadata": {"a": "1", "b": "2"}, "result_files": ["f1", "f2"]},
            {"a": "1", "b": "2"},
            ("f1", "f2"),
        ),
    ],
)
def test_snapshot_from_collections(
    values: dict[str, Any], metadata: dict[str, str], result_files: tuple[str, ...]
) -> None:
    job = snapshot_from({**JOB, **values})
    assert job.metadata == metadata and job.result_files == result_files


def test_snapshot_from_copies_what_it_keeps() -> None:
    data = {**JOB, "metadata": {"a": "1"}, "result_files": ["f1"]}
    job = snapshot_from(data)
    data["metadata"]["a"] = "changed"
    data["result_files"].append("f2")
    assert job.metadata == {"a": "1"} and job.result_files == ("f1",)


def test_snapshot_from_keeps_huge_numbers() -> None:
    job = snapshot_from({**JOB, "trained_tokens": 10**15, "finished_at": 2**40})
    assert job.trained_tokens == 10**15 and job.finished_at == 2**40


@pytest.mark.parametrize(
    ("field", "value", "attribute", "expected"),
    [
        ("created_at", "yesterday", "created_at", None),
        ("created_at", True, "created_at", None),
        ("created_at", 1.5, "created_at", None),
        ("created_at", 1700000000, "created_at", 1700000000),
        ("trained_tokens", "many", "trained_tokens", None),
        ("metadata", ["slack_user", "U1"], "metadata", {}),
        ("metadata", {"slack_user": "U1", "n": 3}, "metadata", {"slack_user": "U1"}),
        ("result_files", "file-abc", "result_files", ()),
        ("result_files", ["file-a", 7], "result_files", ("file-a",)),
        ("fine_tuned_model", {"name": "x"}, "fine_tuned_model", None),
        ("error", "boom", "error_message", None),
    ],
)
def test_snapshot_from_treats_mistyped_fields_as_missing(
    field: str, value: object, attribute: str, expected: object
) -> None:
    snapshot = snapshot_from({"id": "ftjob-1", "status": "running", "model": "m", field: value})
    assert getattr(snapshot, attribute) == expected


def test_a_mistyped_snapshot_still_renders_a_status_view() -> None:
    from bot.core.job_events import Timeline
    from bot.core.status import JobFacts, status_view
    from bot.core.watch import Metrics

    snapshot = snapshot_from(
        {"id": "ftjob-1", "status": "running", "created_at": "yesterday", "metadata": [1]}
    )
    view = status_view(
        facts=JobFacts(owner_id="U1", model="m", remote_id="ftjob-1"),
        snapshot=snapshot,
        metrics=Metrics(),
        timeline=Timeline(),
        now=1700000000,
    )
    assert "Training" in str(view)
