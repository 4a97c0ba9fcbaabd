"""The fake Together AI, driven by the real ``together.Together`` client (strict parsing)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import together

from tests.fakes.fake_together import FakeTogether

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
DATA = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
)


@pytest.fixture
def fake() -> Iterator[FakeTogether]:
    with FakeTogether() as server:
        yield server
        assert not server.errors, server.errors


@pytest.fixture
def client(fake: FakeTogether) -> together.Together:
    """The real client; strict validation proves the fake answers in the SDK's own shapes."""
    return together.Together(
        base_url=fake.base_url,
        api_key="test",
        timeout=5,
        max_retries=0,
        _strict_response_validation=True,
    )


def _file(tmp_path: Path, data: bytes = DATA, name: str = "train.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _upload(client: together.Together, tmp_path: Path, data: bytes = DATA) -> str:
    return client.files.upload(_file(tmp_path, data), purpose="fine-tune", check=False).id


def test_upload_is_announced_then_put_to_a_presigned_url_then_preprocessed(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    uploaded = client.files.upload(_file(tmp_path), purpose="fine-tune", check=False)
    assert uploaded.processing_status == "COMPLETED" and uploaded.filename == "train.jsonl"
    assert [(c.method, c.path.split("/")[1:3]) for c in fake.calls] == [
        ("POST", ["v1", "files"]),
        ("PUT", ["presigned", uploaded.id]),
        ("POST", ["v1", "files"]),
    ]
    announce, put, _ = fake.calls
    assert announce.status == 302 and announce.form == {
        "purpose": "fine-tune",
        "file_name": "train.jsonl",
        "file_type": "jsonl",
        "checksum": hashlib.sha256(DATA).hexdigest(),
    }
    assert "authorization" not in {k.lower() for k in put.headers}  # the URL is the grant
    assert "authorization" in {k.lower() for k in announce.headers}
    assert fake.files[uploaded.id].content == DATA

    found = client.files.retrieve(uploaded.id)
    assert found.validation_report is not None and found.validation_report.valid
    assert found.validation_report.nlines == 1 and found.bytes == len(DATA)
    assert [f.id for f in client.files.list().data] == [uploaded.id]
    assert client.files.content(uploaded.id).read() == DATA
    assert client.files.delete(uploaded.id).deleted
    with pytest.raises(together.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_the_presigned_url_needs_its_signature(
    fake: FakeTogether, client: together.Together
) -> None:
    stored = fake.new_file(name="x.jsonl", purpose="fine-tune", file_type="jsonl", checksum="0")
    answer = httpx.put(f"{fake.origin}/presigned/{stored.id}?X-Amz-Signature=forged", content=b"{}")
    assert answer.status_code == 403 and not stored.uploaded


@pytest.mark.parametrize(
    ("data", "script", "reason"),
    [
        (DATA, "Line 1: missing assistant message", "Line 1: missing assistant message"),
        (b"\xef\xbb\xbf" + DATA, None, "Line 1: not valid JSON"),
        (b'[{"messages": []}]\n', None, "Line 1: expected a JSON object"),
        (b"\n\n", None, "The file is empty"),
    ],
)
def test_preprocessing_rejects_with_a_reason(
    fake: FakeTogether,
    client: together.Together,
    tmp_path: Path,
    data: bytes,
    script: str | None,
    reason: str,
) -> None:
    if script:
        fake.reject_next_file(script)
    uploaded = client.files.upload(_file(tmp_path, data), purpose="fine-tune", check=False)
    assert uploaded.processing_status == "INVALID_FORMAT"
    report = client.files.retrieve(uploaded.id).validation_report
    assert report is not None and not report.valid
    assert report.error == reason and report.error_type == "INVALID_FORMAT"


def test_preprocessing_can_take_a_few_reads(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    fake.preprocess_polls = 2
    file_id = _upload(client, tmp_path)
    statuses = [client.files.retrieve(file_id).processing_status for _ in range(4)]
    assert statuses == ["RUNNING", "RUNNING", "COMPLETED", "COMPLETED"]


def test_a_known_checksum_answers_409_and_the_sdk_returns_that_file(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    fake.dedupe_uploads = True
    first = _upload(client, tmp_path)
    second = _upload(client, tmp_path)
    assert second == first and len(fake.files) == 1
    assert fake.calls_to("POST", "/v1/files")[-1].status == 409


def test_job_life_events_metrics_checkpoints_and_completion(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    file_id = _upload(client, tmp_path)
    job = client.fine_tuning.create(
        model=MODEL, training_file=file_id, lora=True, suffix="demo", train_on_inputs="auto"
    )
    assert job.status == "pending" and job.id.startswith("ft-")
    assert job.output_name and job.output_name.endswith(f"-demo-{job.id[3:11]}")
    body = fake.calls_to("POST", "/v1/fine-tunes")[0].json or {}
    assert body["training_type"]["type"] == "Lora" and body["training_method"]["method"] == "sft"
    assert [c.path for c in fake.calls[-3:]] == [
        "/v1/fine-tunes/models/limits",
        "/v1/fine-tunes/estimate-price",
        "/v1/fine-tunes",
    ]

    fake.advance(job.id, status="queued")
    fake.advance(job.id, status="running", total_steps=10, seconds_remaining=300)
    fake.advance(job.id, step=5, train_loss=0.9, valid_loss=1.1, checkpoint=True)
    fake.advance(job.id, step=10, train_loss=0.5)
    running = client.fine_tuning.retrieve(job.id)
    assert running.status == "running" and running.progress is not None
    events = client.fine_tuning.list_events(job.id).data
    assert [e.type for e in events] == [
        "job_pending",
        "job_pending",
        "job_start",
        "training_start",
        "checkpoint_save",
    ]
    assert events[3].total_steps == 10 and events[4].step == 5
    metrics = client.fine_tuning.list_metrics(job.id).metrics or []
    assert metrics == [
        {"train/loss": 0.9, "train/learning_rate": 1e-5, "train/global_step": 5},
        {"eval/loss": 1.1, "train/global_step": 5},
        {"train/loss": 0.5, "train/learning_rate": 1e-5, "train/global_step": 10},
    ]
    later = client.fine_tuning.list_metrics(job.id, global_step_from=6).metrics or []
    assert [row["train/global_step"] for row in later] == [10]

    fake.complete(job.id, token_count=4321)
    done = client.fine_tuning.retrieve(job.id)
    assert done.status == "completed" and done.token_count == 4321
    assert client.fine_tuning.list_events(job.id).data[-1].type == "job_complete"
    checkpoints = client.fine_tuning.list_checkpoints(job.id).data
    assert [(c.step, c.checkpoint_type) for c in checkpoints] == [
        (10, "Final"),
        (5, "Intermediate (step 5)"),
    ]
    answer = client.chat.completions.create(
        model=str(done.x_model_output_name), messages=[{"role": "user", "content": "ping"}]
    )
    assert answer.choices[0].message is not None
    assert answer.choices[0].message.content == "echo: ping"
    assert fake.chat_models_called() == [done.x_model_output_name]
    assert [j.id for j in client.fine_tuning.list().data] == [job.id]


def test_cancel_is_requested_then_done_and_refused_when_finished(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    job = client.fine_tuning.create(
        model=MODEL, training_file=_upload(client, tmp_path), train_on_inputs="auto"
    )
    assert client.fine_tuning.cancel(job.id).status == "cancel_requested"
    assert client.fine_tuning.retrieve(job.id).status == "cancelled"
    with pytest.raises(together.BadRequestError, match="cannot be cancelled"):
        client.fine_tuning.cancel(job.id)
    with pytest.raises(together.NotFoundError):
        client.fine_tuning.retrieve("ft-unknown")


def test_failures_end_with_an_error_event(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    job = client.fine_tuning.create(
        model=MODEL, training_file=_upload(client, tmp_path), train_on_inputs="auto"
    )
    fake.fail(job.id, "Out of credits")
    events = client.fine_tuning.list_events(job.id).data
    assert client.fine_tuning.retrieve(job.id).status == "error"
    assert (events[-1].type, events[-1].level, events[-1].message) == (
        "job_error",
        "error",
        "Out of credits",
    )


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        ("model", {"model": "acme/unknown"}, together.BadRequestError, "not supported"),
        ("file", {"training_file": "file-missing"}, together.BadRequestError, "not found"),
        ("epochs", {"n_epochs": 50}, together.BadRequestError, "n_epochs"),
        ("suffix", {"suffix": "x" * 41}, together.BadRequestError, "40 characters"),
        ("rate", {"learning_rate": 2.0}, together.BadRequestError, "learning_rate"),
    ],
)
def test_create_refuses_what_together_refuses(
    fake: FakeTogether,
    client: together.Together,
    tmp_path: Path,
    change: str,
    kwargs: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    request: dict[str, object] = {
        "model": MODEL,
        "training_file": _upload(client, tmp_path),
        "train_on_inputs": "auto",
    }
    with pytest.raises(error, match=match):
        client.fine_tuning.create(**{**request, **kwargs})  # type: ignore[arg-type]
    assert fake.jobs == {}


def test_estimate_price_is_available_once_the_file_is_checked(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    file_id = _upload(client, tmp_path)
    quote = client.fine_tuning.estimate_price(training_file=file_id, model=MODEL, n_epochs=3)
    assert quote.estimation_available is True
    assert quote.estimated_train_token_count == len(DATA) // 4 * 3
    assert quote.estimated_total_price == pytest.approx(len(DATA) // 4 * 3 * 0.48 / 1e6)

    fake.preprocess_polls = 5
    pending = _upload(client, tmp_path, DATA * 2)
    later = client.fine_tuning.estimate_price(training_file=pending, model=MODEL)
    assert later.estimation_available is False
    assert later.unavailable_reason == "train_file_not_validated"


def test_chat_is_scriptable_with_tool_calls_and_knows_its_models(
    fake: FakeTogether, client: together.Together
) -> None:
    call = {"function": {"name": "lookup", "arguments": {"q": "x"}}}
    fake.script_chat({"content": None, "tool_calls": [call]}, "done")
    first = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "go"}],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
    )
    message = first.choices[0].message
    assert message is not None and message.tool_calls
    assert message.tool_calls[0].function.arguments == '{"q": "x"}'
    assert first.choices[0].finish_reason == "tool_calls"
    second = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "go"}]
    )
    assert second.choices[0].message is not None and second.choices[0].message.content == "done"
    assert second.usage is not None and second.usage.completion_tokens == 1
    with pytest.raises(together.NotFoundError, match="Unable to access model"):
        client.chat.completions.create(model="acme/none", messages=[{"role": "user"}])  # type: ignore[misc, list-item]
    assert fake.chat_models_called() == [MODEL, MODEL, "acme/none"]


def test_keys_are_checked(fake: FakeTogether) -> None:
    fake.valid_keys = {"good"}
    bad = together.Together(base_url=fake.base_url, api_key="bad", max_retries=0)
    with pytest.raises(together.AuthenticationError, match="Invalid API key"):
        bad.fine_tuning.list()
    good = together.Together(base_url=fake.base_url, api_key="good", max_retries=0)
    assert good.fine_tuning.list().data == []
    headers = {k.lower(): v for k, v in fake.calls[0].headers.items()}
    assert headers["authorization"] == "Bearer bad"


def test_faults_429_retry_after_is_honoured_by_the_sdk(fake: FakeTogether) -> None:
    retrying = together.Together(base_url=fake.base_url, api_key="k", max_retries=2)
    fake.fail_next("GET", "/v1/fine-tunes", status=429, retry_after="0.01")
    assert retrying.fine_tuning.list().data == []
    assert [c.status for c in fake.calls] == [429, 200]
    assert fake.calls[0].fault == "fault"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 500}, together.InternalServerError),
        ({"status": 429, "retry_after": "7"}, together.RateLimitError),
        ({"drop": True}, together.APIConnectionError),
        ({"slow_ms": 600}, together.APITimeoutError),
        ({"status": 502, "body": "<html>bad gateway</html>"}, together.InternalServerError),
    ],
)
def test_faults_reach_the_sdk_as_its_errors(
    fake: FakeTogether, fault: dict[str, object], error: type[Exception]
) -> None:
    client = together.Together(base_url=fake.base_url, api_key="k", max_retries=0, timeout=0.3)
    fake.fail_next("GET", "/v1/fine-tunes", **fault)  # type: ignore[arg-type]
    with pytest.raises(error):
        client.fine_tuning.list()
    if fault.get("retry_after"):
        assert fake.calls[0].status == 429


def test_apply_then_fail_creates_the_job_and_answers_500(
    fake: FakeTogether, client: together.Together, tmp_path: Path
) -> None:
    file_id = _upload(client, tmp_path)
    fake.fail_next("POST", "/v1/fine-tunes", status=500, apply_then_fail=True, exact=True)
    with pytest.raises(together.InternalServerError):
        client.fine_tuning.create(model=MODEL, training_file=file_id, train_on_inputs="auto")
    assert len(fake.jobs) == 1
    assert fake.calls_to("POST", "/v1/fine-tunes")[0].fault == "apply_then_fail"
