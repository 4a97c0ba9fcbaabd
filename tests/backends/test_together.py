"""The Together adapter through the real `together` SDK against the fake Together server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import together

from bot.backends.together import TogetherBackend
from bot.backends.together_shapes import key_tag
from bot.core.jobs import JobState, ServiceError
from bot.core.watch import Event, Metrics, metrics_from, new_events_since, rows_from_events
from bot.services.uploads import create_once
from storage.jobs import JobRecord
from storage.repositories import DatasetRecord
from tests.conftest import DATA
from tests.fakes.fake_together import FakeTogether

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
LINE = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
KEY = "req-0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeTogether]:
    with FakeTogether() as server:
        yield server
        assert not server.errors, server.errors


def backend(fake: FakeTogether, *, retries: int = 0, **kwargs: float) -> TogetherBackend:
    client = together.Together(
        base_url=fake.base_url, api_key="test", timeout=5, max_retries=retries
    )
    return TogetherBackend(client, poll_interval=0.001, **kwargs)


@pytest.fixture
def ai(fake: FakeTogether) -> TogetherBackend:
    return backend(fake)


def _job(fake: FakeTogether, ai: TogetherBackend, **params: Any) -> str:
    file_id = fake.add_file(LINE + b"\n").id
    request = {"model": MODEL, "training_file": file_id, **params}
    return ai.create_job(metadata={"ftbot_request": KEY}, **request).id


def _sent(fake: FakeTogether) -> dict[str, Any]:
    return fake.calls_to("POST", "/v1/fine-tunes")[-1].json or {}


# -- upload ------------------------------------------------------------------------------
def test_upload_uses_the_presigned_flow(
    fake: FakeTogether, ai: TogetherBackend, tmp_path: Path
) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(LINE + b"\n")
    file_id = ai.upload(path, name="train.jsonl")
    assert fake.files[file_id].content == LINE + b"\n"
    assert fake.files[file_id].obj["filename"] == "train.jsonl"
    assert [c.method for c in fake.calls] == ["POST", "PUT", "POST"]
    assert fake.calls[2].path == f"/v1/files/{file_id}/preprocess"


@pytest.mark.parametrize(
    ("source", "name", "uploaded_name"),
    [
        ("bom.jsonl", "bom.jsonl", "bom.jsonl"),
        ("array.json", "array.json", "array.jsonl"),
        ("array_one_line.jsonl", "array_one_line.jsonl", "array_one_line.jsonl"),
        ("blank_lines.jsonl", "My data (v2).txt", "My_data_v2.jsonl"),
    ],
)
def test_upload_sends_a_normalised_jsonl_copy(
    fake: FakeTogether, ai: TogetherBackend, source: str, name: str, uploaded_name: str
) -> None:
    original = (DATA / source).read_bytes()
    file_id = ai.upload(DATA / source, name=name)
    sent = fake.files[file_id]
    assert sent.obj["filename"] == uploaded_name
    assert sent.obj["validation_report"]["valid"]  # the fake refuses BOMs and arrays
    assert not sent.content.startswith(b"\xef\xbb\xbf") and b"\r" not in sent.content
    lines = sent.content.decode().splitlines()
    assert all(line.strip() for line in lines) and sent.content.endswith(b"\n")
    expected = original.removeprefix(b"\xef\xbb\xbf").decode()
    if expected.lstrip().startswith("["):
        assert [json.loads(line) for line in lines] == json.loads(expected)
    else:
        assert lines == [line for line in expected.splitlines() if line.strip()]
    assert (DATA / source).read_bytes() == original  # the dataset itself is untouched


def test_upload_waits_for_preprocessing(
    fake: FakeTogether, ai: TogetherBackend, tmp_path: Path
) -> None:
    fake.preprocess_polls = 2
    path = tmp_path / "t.jsonl"
    path.write_bytes(LINE + b"\n")
    file_id = ai.upload(path, name="t.jsonl")
    reads = fake.calls_to("GET", f"/v1/files/{file_id}")
    assert [c.status for c in reads] == [200, 200, 200]
    assert fake.files[file_id].obj["processing_status"] == "COMPLETED"


@pytest.mark.parametrize("polls", [0, 2])
def test_a_rejected_file_raises_togethers_reason(
    fake: FakeTogether, ai: TogetherBackend, tmp_path: Path, polls: int
) -> None:
    fake.preprocess_polls = polls
    fake.reject_next_file("Line 3: the assistant message is missing")
    path = tmp_path / "t.jsonl"
    path.write_bytes(LINE + b"\n")
    with pytest.raises(ServiceError) as info:
        ai.upload(path, name="t.jsonl")
    assert info.value.kind == "invalid_request" and not info.value.retryable
    assert "Line 3: the assistant message is missing" in str(info.value)


def test_preprocessing_that_never_ends_is_a_bounded_wait(
    fake: FakeTogether, tmp_path: Path
) -> None:
    fake.preprocess_polls = 10**6
    path = tmp_path / "t.jsonl"
    path.write_bytes(LINE + b"\n")
    with pytest.raises(ServiceError) as info:
        backend(fake, preprocess_timeout=0.05).upload(path, name="t.jsonl")
    assert info.value.kind == "unavailable" and info.value.retryable


def test_a_json_file_that_is_not_an_array_is_refused(ai: TogetherBackend, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"[1, 2")
    with pytest.raises(ServiceError) as info:
        ai.upload(path, name="x.json")
    assert info.value.kind == "invalid_request"


# -- create and find ---------------------------------------------------------------------
def test_create_maps_openai_shaped_params(fake: FakeTogether, ai: TogetherBackend) -> None:
    validation = fake.add_file(LINE + b"\n", "valid.jsonl").id
    hyper = {"n_epochs": 3, "batch_size": 16, "learning_rate": 2e-5, "n_checkpoints": 2}
    snapshot = ai.create_job(
        metadata={"ftbot_request": KEY, "slack_user": "U1"},
        model=MODEL,
        training_file=fake.add_file(LINE + b"\n").id,
        validation_file=validation,
        method={"type": "supervised", "supervised": {"hyperparameters": hyper}},
        suffix="support-bot",
        seed=7,
    )
    body = _sent(fake)
    assert {k: body[k] for k in hyper} == hyper
    assert body["training_method"] == {"method": "sft", "train_on_inputs": "auto"}
    assert body["training_type"]["type"] == "Lora"  # LoRA unless asked otherwise
    assert body["random_seed"] == 7 and body["validation_file"] == validation
    assert body["n_evals"] > 0  # else Together ignores the validation file
    assert body["suffix"] == f"support-bot-{key_tag(KEY)}"
    assert snapshot.status == "queued" and snapshot.model == MODEL and not snapshot.finished
    assert snapshot.metadata == {} and snapshot.fine_tuned_model is None


def test_create_dpo_full_training(fake: FakeTogether, ai: TogetherBackend) -> None:
    _job(
        fake,
        ai,
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": "auto"}}},
        training_type="full",
    )
    body = _sent(fake)
    assert body["training_method"]["method"] == "dpo" and body["training_method"]["dpo_beta"] == 0.2
    assert body["training_type"] == {"type": "Full"} and body["n_epochs"] == 1


def test_a_long_suffix_leaves_room_for_the_key(fake: FakeTogether, ai: TogetherBackend) -> None:
    _job(fake, ai, suffix="x" * 60)
    suffix = _sent(fake)["suffix"]
    assert len(suffix) == 40 and suffix.endswith("-" + key_tag(KEY))


@pytest.mark.parametrize(
    ("params", "name", "words"),
    [
        ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"learning_rate_multiplier": 2}}}}, "learning_rate_multiplier", "absolute learning_rate"),
        ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 0.1}}}}, "beta", "no hyperparameter beta"),
        ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"warmup": 3}}}}, "warmup", "no hyperparameter warmup"),
        ({"method": {"type": "reinforcement"}}, "method", "reinforcement"),
        ({"integrations": [{"type": "wandb"}]}, "integrations", "no option integrations"),
        ({"training_type": "qlora"}, "training_type", "qlora"),
        ({"hyperparameters": {"batch_size": 1024}}, None, "batch size"),
    ],
)  # fmt: skip
def test_options_together_lacks_are_refused_by_name_before_any_call(
    fake: FakeTogether, ai: TogetherBackend, params: dict[str, Any], name: str | None, words: str
) -> None:
    file_id = fake.add_file(LINE + b"\n").id
    with pytest.raises(ServiceError) as info:
        ai.create_job(metadata={}, model=MODEL, training_file=file_id, **params)
    assert info.value.kind == "invalid_request" and info.value.param == name
    assert words in str(info.value)
    assert fake.calls_to("POST", "/v1/fine-tunes") == []


def test_an_unknown_model_is_refused(fake: FakeTogether, ai: TogetherBackend) -> None:
    with pytest.raises(ServiceError) as info:
        _job(fake, ai, model="acme/not-a-model")
    assert info.value.kind == "invalid_request" and "not supported" in str(info.value)
    assert fake.jobs == {}


def _records(file_id: str) -> tuple[JobRecord, DatasetRecord]:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    job = JobRecord(
        id=1, request_key=KEY, remote_id=None, dataset_id=1, validation_dataset_id=None,
        channel_id="C1", thread_ts="1.0", owner_id="U1", model=MODEL, method="supervised",
        hyperparameters={"n_epochs": 2}, suffix="demo", seed=None, state=JobState.CREATING,
        status=None, estimated_cost_usd=None, estimated_tokens=None, trained_tokens=None,
        fine_tuned_model=None, status_ts=None, approver_id=None, approval_ts=None, error=None,
        created_at=now, backend="together",
    )  # fmt: skip
    dataset = DatasetRecord(
        id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1",
        name="t.jsonl", size_bytes=10, sha256=None, format="chat", examples=1, total_tokens=5,
        valid=True, report=None, status="ready", error=None, report_ts=None, created_at=now,
    )  # fmt: skip
    return job, dataset


def test_an_ambiguous_500_on_create_finds_the_job_instead_of_sending_again(
    fake: FakeTogether, tmp_path: Path
) -> None:
    ai = backend(fake, retries=2)  # create itself never lets the SDK retry
    file_id = fake.add_file(LINE + b"\n").id
    fake.fail_next("POST", "/v1/fine-tunes", status=500, apply_then_fail=True, exact=True)
    job, dataset = _records(file_id)
    snapshot = create_once(ai, job=job, dataset=dataset, training=file_id, validation=None)
    assert len(fake.calls_to("POST", "/v1/fine-tunes")) == 1 and len(fake.jobs) == 1
    assert snapshot.id in fake.jobs and fake.jobs[snapshot.id]["suffix"].endswith(key_tag(KEY))
    assert ai.find_job(key="ftbot_request", value="another request") is None
    assert ai.find_job(key="slack_user", value="U1") is None  # only the request key travels


# -- retrieve, cancel --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "status", "finished"),
    [
        ("pending", "queued", False),
        ("queued", "queued", False),
        ("running", "running", False),
        ("compressing", "running", False),
        ("uploading", "running", False),
        ("cancel_requested", "running", False),
        ("completed", "succeeded", True),
        ("error", "failed", True),
        ("user_error", "failed", True),
        ("cancelled", "cancelled", True),
        ("paused_by_ops", "paused_by_ops", False),  # unknown: shown as is, still watched
    ],
)
def test_statuses_are_normalised(
    fake: FakeTogether, ai: TogetherBackend, raw: str, status: str, finished: bool
) -> None:
    job_id = _job(fake, ai)
    fake.set_status(job_id, raw)
    snapshot = ai.retrieve(job_id)
    assert (snapshot.status, snapshot.finished) == (status, finished)
    assert (snapshot.finished_at is not None) == finished
    assert snapshot.created_at and snapshot.training_file


def test_success_failure_and_progress_in_the_snapshot(
    fake: FakeTogether, ai: TogetherBackend
) -> None:
    done, failed = _job(fake, ai), _job(fake, ai)
    fake.advance(done, status="running", total_steps=4, seconds_remaining=120)
    running = ai.retrieve(done)
    assert running.estimated_finish and running.estimated_finish > running.created_at  # type: ignore[operator]
    fake.complete(done, token_count=999)
    finished = ai.retrieve(done)
    assert finished.fine_tuned_model == fake.jobs[done]["model_output_name"]
    assert finished.trained_tokens == 999 and finished.estimated_finish is None
    fake.fail(failed, "Your dataset has too few tokens", user_error=True)
    snapshot = ai.retrieve(failed)
    assert (snapshot.status, snapshot.error_code) == ("failed", "user_error")
    assert snapshot.error_message == "Your dataset has too few tokens"


def test_cancel_and_pause_resume_refused_by_name(fake: FakeTogether, ai: TogetherBackend) -> None:
    job_id = _job(fake, ai)
    assert ai.act("cancel", job_id).status == "running"  # cancel_requested
    assert ai.retrieve(job_id).status == "cancelled"
    calls = len(fake.calls)
    for action in ("pause", "resume"):
        with pytest.raises(ServiceError) as info:
            ai.act(action, job_id)
        assert info.value.kind == "invalid_request"
        assert str(info.value) == f"Together AI cannot {action} jobs"
    assert len(fake.calls) == calls
    with pytest.raises(ServiceError) as again:
        ai.act("cancel", job_id)
    assert again.value.kind == "invalid_request"
    with pytest.raises(ServiceError) as missing:
        ai.retrieve("ft-nope")
    assert missing.value.kind == "not_found"


# -- events and metrics ------------------------------------------------------------------
def _poll(ai: TogetherBackend, job_id: str, cursor: str | None) -> list[Event]:
    """What JobWatcher._new_events does: newest-first pages until the cursor, oldest first."""
    fresh: list[Event] = []
    after: str | None = None
    while True:
        page, has_more = ai.events(job_id, after=after, limit=3)
        found, reached = new_events_since(page, cursor)
        fresh += found
        if reached or not has_more or not page:
            return list(reversed(fresh))
        after = page[-1].id


def test_events_page_newest_first_with_metrics_events(
    fake: FakeTogether, ai: TogetherBackend
) -> None:
    job_id = _job(fake, ai)
    fake.advance(job_id, status="running", total_steps=20)
    fake.advance(job_id, step=5, train_loss=1.5, valid_loss=1.7)
    fake.advance(job_id, step=10, train_loss=1.1, checkpoint=True)
    ai.retrieve(job_id)
    page, has_more = ai.events(job_id, limit=3)
    assert has_more and len(page) == 3
    rest, more = ai.events(job_id, after=page[-1].id, limit=50)
    assert not more
    every = page + rest
    assert len({e.id for e in every}) == len(every)
    messages = [e.message for e in every if not e.is_metrics]
    assert messages == [
        "New checkpoint saved at step 10",
        "Training started",
        "Job started",
        "Fine tune request created",
    ]
    metrics = [e for e in reversed(every) if e.is_metrics]
    assert [(e.data["step"], e.type) for e in metrics] == [
        (5, "metrics"),
        (5, "metrics"),
        (10, "metrics"),
    ]
    latest = Metrics()
    for event in metrics:
        latest = metrics_from(event, latest)
    assert latest == Metrics(step=10, total_steps=20, train_loss=1.1, valid_loss=1.7)
    rows = rows_from_events(list(reversed(every)))
    assert [(r.step, r.train_loss, r.valid_loss) for r in rows] == [(5, 1.5, 1.7), (10, 1.1, None)]


def test_each_event_reaches_the_watcher_once_across_polls_and_restarts(
    fake: FakeTogether, ai: TogetherBackend
) -> None:
    job_id = _job(fake, ai)
    seen: list[str] = []
    cursor: str | None = None

    def poll(adapter: TogetherBackend) -> list[Event]:
        nonlocal cursor
        adapter.retrieve(job_id)
        fresh = _poll(adapter, job_id, cursor)
        cursor = fresh[-1].id if fresh else cursor
        seen.extend(e.id for e in fresh)
        return fresh

    poll(ai)
    fake.advance(job_id, status="running", total_steps=30)
    fake.advance(job_id, step=10, train_loss=0.9)
    assert [e.message for e in poll(ai)] == [
        "Step 10: training loss=0.9000",
        "Job started",
        "Training started",
    ]
    assert poll(ai) == []
    fake.advance(job_id, step=20, train_loss=0.7, checkpoint=True)
    fake.add_event(job_id, "warning", "GPU swapped")
    assert [e.message for e in poll(ai)] == [
        "Step 20: training loss=0.7000",
        "New checkpoint saved at step 20",
        "GPU swapped",
    ]
    fake.advance(job_id, step=30, train_loss=0.5)
    assert [e.message for e in poll(ai)] == ["Step 30: training loss=0.5000"]

    restarted = backend(fake)  # a new process (or another replica): its own stream
    fake.add_event(job_id, "warning", "Node restarted")
    fresh = poll(restarted)
    assert "Node restarted" in [e.message for e in fresh]
    together_events = [e for e in fake.jobs[job_id]["events"]]
    assert len(together_events) == 6
    delivered = [i for i in seen if i.startswith("tev-")]
    assert len(set(delivered)) == 6  # none missed; replays (same ids) are what notice keys absorb
    fake.advance(job_id, step=40, train_loss=0.4)
    assert [e.message for e in poll(restarted)] == ["Step 40: training loss=0.4000"]


def test_a_queued_job_costs_no_metrics_read(fake: FakeTogether, ai: TogetherBackend) -> None:
    job_id = _job(fake, ai)
    ai.retrieve(job_id)
    before = len(fake.calls)
    page, _ = ai.events(job_id)
    assert fake.calls[before:] == []  # the retrieve carried the events
    assert [e.message for e in page] == ["Fine tune request created"]
    fake.add_event(job_id, "job_pending", "Job is queued")
    page, _ = ai.events(job_id)  # no retrieve just before: the events are listed
    assert [c.path for c in fake.calls[before:]] == [f"/v1/fine-tunes/{job_id}/events"]
    assert page[0].message == "Job is queued"


def test_paging_older_events_reads_nothing_new(fake: FakeTogether, ai: TogetherBackend) -> None:
    job_id = _job(fake, ai)
    for step in range(1, 8):
        fake.add_event(job_id, "warning", f"note {step}")
    page, has_more = ai.events(job_id, limit=2)
    before = len(fake.calls)
    older, _ = ai.events(job_id, after=page[-1].id, limit=2)
    assert has_more and [e.message for e in older] == ["note 5", "note 4"]
    assert len(fake.calls) == before


def test_metrics_are_read_from_the_last_step_on(fake: FakeTogether, ai: TogetherBackend) -> None:
    job_id = _job(fake, ai)
    fake.advance(job_id, status="running", total_steps=4, step=2, train_loss=1.0)
    ai.retrieve(job_id)
    ai.events(job_id)
    fake.advance(job_id, step=4, train_loss=0.5)
    ai.events(job_id)
    reads = fake.calls_to("GET", f"/v1/fine-tunes/{job_id}/metrics")
    assert [c.query for c in reads] == [{}, {"global_step_from": "2"}]


# -- checkpoints, chat, estimate ---------------------------------------------------------
def test_checkpoints_are_named_and_usable_for_chat(fake: FakeTogether, ai: TogetherBackend) -> None:
    job_id = _job(fake, ai)
    fake.advance(job_id, status="running", total_steps=20)
    fake.advance(job_id, step=10, train_loss=0.8, valid_loss=0.9, checkpoint=True)
    fake.advance(job_id, step=20, train_loss=0.6, checkpoint=True)
    fake.complete(job_id)
    output = fake.jobs[job_id]["model_output_name"]
    found = ai.checkpoints(job_id)
    assert [(c.step, c.model, c.metrics) for c in found] == [
        (10, f"{output}:10", {"train_loss": 0.8, "valid_loss": 0.9}),
        (20, f"{output}:20", {"train_loss": 0.6}),
    ]
    assert (
        ai.chat(model=found[0].model, messages=[{"role": "user", "content": "hi"}])[0] == "echo: hi"
    )


def test_chat_with_the_jobs_model_output_name(fake: FakeTogether, ai: TogetherBackend) -> None:
    job_id = _job(fake, ai)
    fake.complete(job_id)
    model = ai.retrieve(job_id).fine_tuned_model
    assert model == fake.jobs[job_id]["model_output_name"]
    answer, prompt, completion = ai.chat(model=model, messages=[{"role": "user", "content": "a b"}])
    assert (answer, prompt, completion) == ("echo: a b", 6, 3)
    fake.script_chat(
        {"content": None, "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}
    )
    turn = ai.chat_with_tools(model=model, messages=[{"role": "user", "content": "go"}], tools=[])
    assert turn["role"] == "assistant" and turn["tool_calls"][0]["function"]["name"] == "f"
    assert json.loads(turn["tool_calls"][0]["function"]["arguments"]) == {"x": 1}
    plain = ai.chat_with_tools(model=model, messages=[{"role": "user", "content": "go"}], tools=[])
    assert plain == {"role": "assistant", "content": "echo: go"}
    assert fake.chat_models_called() == [model] * 3
    with pytest.raises(ServiceError) as info:
        ai.chat(model="acme/none", messages=[{"role": "user", "content": "x"}])
    assert info.value.kind == "not_found"


def test_estimate_price_is_togethers_quote(
    fake: FakeTogether, ai: TogetherBackend, tmp_path: Path
) -> None:
    content = LINE + b"\n"
    file_id = fake.add_file(content).id
    usd, tokens = ai.estimate_price(training_file=file_id, model=MODEL, n_epochs=3)
    assert tokens == len(content) // 4 * 3 and usd == pytest.approx(tokens * 0.48 / 1e6)
    body = fake.calls_to("POST", "/v1/fine-tunes/estimate-price")[0].json
    assert body == {
        "training_file": file_id,
        "model": MODEL,
        "n_epochs": 3,
        "training_method": {"method": "sft", "train_on_inputs": "auto"},
    }
    fake.preprocess_polls = 10
    pending = fake.new_file(name="p.jsonl", purpose="fine-tune", file_type="jsonl", checksum="x")
    pending.uploaded = True
    with pytest.raises(ServiceError) as info:
        ai.estimate_price(training_file=pending.id, model=MODEL)
    assert info.value.kind == "unavailable" and "train_file_not_validated" in str(info.value)


def test_no_result_files_and_no_model_deletion(ai: TogetherBackend) -> None:
    with pytest.raises(ServiceError) as content:
        ai.file_content("file-1")
    assert content.value.kind == "not_found"
    with pytest.raises(ServiceError) as delete:
        ai.delete_model("acct/model")
    assert delete.value.kind == "invalid_request" and "Together" in str(delete.value)
    assert ai.configured and ai.name == "together"


# -- Together's bad answers --------------------------------------------------------------
def test_a_bad_key_is_auth(fake: FakeTogether, ai: TogetherBackend) -> None:
    fake.valid_keys = {"another"}
    with pytest.raises(ServiceError) as info:
        ai.retrieve("ft-x")
    assert info.value.kind == "auth" and not info.value.retryable


def test_429_with_retry_after_is_retried_by_the_sdk(fake: FakeTogether) -> None:
    ai = backend(fake, retries=2)
    job_id = _job(fake, ai)
    fake.fail_next("GET", f"/v1/fine-tunes/{job_id}", status=429, retry_after="0.01", exact=True)
    assert ai.retrieve(job_id).id == job_id
    assert [c.status for c in fake.calls_to("GET", f"/v1/fine-tunes/{job_id}")] == [429, 200]


@pytest.mark.parametrize(
    ("fault", "retries", "kind"),
    [
        ({"status": 429, "retry_after": "0.01", "times": 3}, 2, "rate_limited"),
        ({"status": 500, "retry_after": "0.01", "times": 3}, 2, "unavailable"),
        ({"status": 503, "retry_after": "0.01", "times": 3, "body": "<html>busy</html>"}, 2, "unavailable"),
        ({"drop": True}, 0, "unavailable"),  # timeouts are connection errors too
    ],
)  # fmt: skip
def test_failures_become_retryable_kinds(
    fake: FakeTogether, fault: dict[str, Any], retries: int, kind: str
) -> None:
    client = together.Together(
        base_url=fake.base_url, api_key="test", timeout=0.3, max_retries=retries
    )
    fake.fail_next("GET", "/v1/fine-tunes", **fault)
    with pytest.raises(ServiceError) as info:
        TogetherBackend(client).find_job(key="ftbot_request", value=KEY)
    assert info.value.kind == kind and info.value.retryable
    assert len(fake.calls) == retries + 1  # the SDK's own retries, then the answer


def test_a_500_on_create_is_sent_once(fake: FakeTogether) -> None:
    ai = backend(fake, retries=2)
    fake.fail_next("POST", "/v1/fine-tunes", status=500, exact=True)
    with pytest.raises(ServiceError) as info:
        _job(fake, ai)
    assert info.value.kind == "unavailable" and info.value.retryable
    assert len(fake.calls_to("POST", "/v1/fine-tunes")) == 1 and fake.jobs == {}


def test_errors_say_they_came_from_together() -> None:
    from bot.backends.together import _failure
    from bot.core.message import plain

    assert plain(_failure("auth", "bad key").explained) == (
        "Together AI refused our API key (TOGETHER_API_KEY). Ask an admin to check it."
    )
    text = plain(_failure("invalid_request", "no such model", param="model").explained)
    assert (
        text.startswith("Together AI rejected the request (field `model`)") and "OpenAI" not in text
    )
