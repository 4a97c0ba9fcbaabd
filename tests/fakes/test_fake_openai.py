"""The fake OpenAI, driven by the real ``openai.OpenAI`` client."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest

from tests.fakes.fake_openai import FakeOpenAI

MODEL = "gpt-4o-mini-2024-07-18"
DATA = (
    b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'
)


def _upload(client: openai.OpenAI, data: bytes = DATA) -> str:
    return client.files.create(
        file=("train.jsonl", data, "application/jsonl"), purpose="fine-tune"
    ).id


def _job(client: openai.OpenAI, file_id: str, **kwargs: Any) -> str:
    return client.fine_tuning.jobs.create(model=MODEL, training_file=file_id, **kwargs).id


def test_files(fake_openai: FakeOpenAI, openai_client: openai.OpenAI) -> None:
    created = openai_client.files.create(
        file=("train.jsonl", DATA, "application/jsonl"), purpose="fine-tune"
    )
    assert created.id.startswith("file-") and created.status == "processed"
    assert created.bytes == len(DATA) and created.filename == "train.jsonl"
    assert fake_openai.files[created.id].content == DATA
    call = fake_openai.calls_to("POST", "/v1/files")[0]
    assert call.form == {"purpose": "fine-tune"} and call.files is not None
    assert call.files["file"].content_type == "application/jsonl"
    assert call.headers["authorization"] == "Bearer test"

    assert openai_client.files.retrieve(created.id).purpose == "fine-tune"
    assert [f.id for f in openai_client.files.list(purpose="fine-tune")] == [created.id]
    assert openai_client.files.content(created.id).content == DATA
    assert openai_client.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        openai_client.files.retrieve(created.id)
    with pytest.raises(openai.BadRequestError):
        openai_client.files.create(file=("train.txt", DATA, "text/plain"), purpose="fine-tune")


def test_uploads_chunked(fake_openai: FakeOpenAI, openai_client: openai.OpenAI) -> None:
    data = DATA * 7
    upload = openai_client.uploads.upload_file_chunked(
        file=data,
        filename="big.jsonl",
        bytes=len(data),
        mime_type="text/jsonl",
        purpose="fine-tune",
        part_size=100,
    )
    assert upload.status == "completed" and upload.file is not None
    assert fake_openai.files[upload.file.id].content == data
    parts = fake_openai.calls_to("POST", f"/v1/uploads/{upload.id}/parts")
    assert len(parts) == -(-len(data) // 100)

    pending = openai_client.uploads.create(
        bytes=10, filename="x.jsonl", mime_type="text/jsonl", purpose="fine-tune"
    )
    part = openai_client.uploads.parts.create(upload_id=pending.id, data=b"short")
    with pytest.raises(openai.BadRequestError, match="does not match"):
        openai_client.uploads.complete(upload_id=pending.id, part_ids=[part.id])
    assert openai_client.uploads.cancel(pending.id).status == "cancelled"


def test_jobs_lifecycle_and_listing(fake_openai: FakeOpenAI, openai_client: openai.OpenAI) -> None:
    file_id = _upload(openai_client)
    ids = [_job(openai_client, file_id, metadata={"ftbot_request": f"r{i}"}) for i in range(5)]
    job = openai_client.fine_tuning.jobs.retrieve(ids[0])
    assert job.status == "validating_files" and job.organization_id == "org-test"
    assert job.error is not None and job.error.code is None and job.fine_tuned_model is None
    assert job.method is not None and job.method.type == "supervised"

    first = openai_client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in first.data] == ids[::-1][:2] and first.has_more
    assert [j.id for j in first] == ids[::-1]  # auto-pagination via after=<last id>
    assert fake_openai.calls_to("GET", "/v1/fine_tuning/jobs")[1].query["after"] == ids[3]
    found = openai_client.fine_tuning.jobs.list(metadata={"ftbot_request": "r2"})
    assert [j.id for j in found] == [ids[2]]

    assert openai_client.fine_tuning.jobs.pause(ids[1]).status == "paused"
    assert openai_client.fine_tuning.jobs.resume(ids[1]).status == "queued"
    assert openai_client.fine_tuning.jobs.cancel(ids[1]).status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        openai_client.fine_tuning.jobs.cancel(ids[1])
    with pytest.raises(openai.NotFoundError):
        openai_client.fine_tuning.jobs.retrieve("ftjob-nope")


def test_events_checkpoints_and_success(
    fake_openai: FakeOpenAI, openai_client: openai.OpenAI
) -> None:
    job_id = _job(openai_client, _upload(openai_client), suffix="demo")
    fake_openai.advance_job(job_id, status="queued")
    fake_openai.advance_job(job_id, status="running", step=1, total_steps=3, train_loss=1.2)
    fake_openai.add_metrics(job_id, 2, 3, 0.52, 0.8, valid_loss=0.61, valid_acc=0.75)
    fake_openai.add_checkpoint(job_id, 2)
    fake_openai.succeed(job_id, trained_tokens=4321)

    events = openai_client.fine_tuning.jobs.list_events(job_id, limit=3)
    messages = [e.message for e in events]  # iterates every page, newest first
    assert messages[:2] == [
        "The job has successfully completed",
        f"New fine-tuned model created: ft:{MODEL}:org-test:demo:" + messages[1].rsplit(":", 1)[1],
    ]
    assert messages[-1] == f"Created fine-tuning job: {job_id}"
    assert "Step 2/3: training loss=0.52, validation loss=0.61" in messages
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics[0].data == {
        "step": 2,
        "train_loss": 0.52,
        "valid_loss": 0.61,
        "total_steps": 3,
        "full_valid_loss": None,
        "train_mean_token_accuracy": 0.8,
        "valid_mean_token_accuracy": 0.75,
        "full_valid_mean_token_accuracy": None,
    }

    ckpt = openai_client.fine_tuning.jobs.checkpoints.list(job_id).data[0]
    assert ckpt.step_number == 2 and ckpt.metrics.train_loss == 0.52
    assert ckpt.fine_tuned_model_checkpoint.endswith(":ckpt-step-2")

    job = openai_client.fine_tuning.jobs.retrieve(job_id)
    assert job.status == "succeeded" and job.trained_tokens == 4321 and job.finished_at
    assert job.hyperparameters.n_epochs == 3  # "auto" resolved once running
    csv = openai_client.files.content(job.result_files[0]).text
    assert (
        csv.splitlines()[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    )
    assert csv.splitlines()[1] == "1,1.2,0.0,,"
    fake_openai.result_file_base64 = True
    raw = openai_client.files.content(job.result_files[0]).content
    assert base64.b64decode(raw).decode() == csv

    assert job.fine_tuned_model is not None
    assert openai_client.models.retrieve(job.fine_tuned_model).owned_by == "org-test"
    failed = _job(openai_client, job.training_file)
    fake_openai.fail(
        failed, "invalid_n_examples", "Training file has 1 example(s)", "training_file"
    )
    error = openai_client.fine_tuning.jobs.retrieve(failed).error
    assert error is not None and error.code == "invalid_n_examples"


def test_create_validation(fake_openai: FakeOpenAI, openai_client: openai.OpenAI) -> None:
    file_id = _upload(openai_client)
    with pytest.raises(openai.BadRequestError) as bad_file:
        openai_client.fine_tuning.jobs.create(model=MODEL, training_file="file-missing")
    assert (
        bad_file.value.code == "invalid_training_file" and bad_file.value.param == "training_file"
    )
    with pytest.raises(openai.BadRequestError) as bad_model:
        openai_client.fine_tuning.jobs.create(model="gpt-3.5-turbo-0125", training_file=file_id)
    assert bad_model.value.param == "model"

    fake_openai.training_not_available = True
    with pytest.raises(openai.PermissionDeniedError) as denied:
        openai_client.fine_tuning.jobs.create(model=MODEL, training_file=file_id)
    assert denied.value.code == "training_not_available"
    assert "winding down the fine-tuning platform" in denied.value.message
    statuses = [c.status for c in fake_openai.calls_to("POST", "/v1/fine_tuning/jobs")]
    assert statuses == [400, 400, 403]  # 4xx: never retried by the SDK

    request = urllib.request.Request(f"{fake_openai.base_url}/models")
    with pytest.raises(urllib.error.HTTPError) as unauth:
        urllib.request.urlopen(request, timeout=5)
    assert unauth.value.code == 401
    assert json.loads(unauth.value.read())["error"]["type"] == "invalid_request_error"


def test_models_and_chat(fake_openai: FakeOpenAI, openai_client: openai.OpenAI) -> None:
    assert MODEL in {m.id for m in openai_client.models.list()}
    with pytest.raises(openai.NotFoundError):
        openai_client.models.retrieve("ft:nope")
    fake_openai.add_model("ft:gpt-4o-mini-2024-07-18:org-test::abc")
    chat = openai_client.chat.completions.create(
        model="ft:gpt-4o-mini-2024-07-18:org-test::abc",
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert chat.choices[0].message.content == "echo: hello there"
    assert chat.choices[0].finish_reason == "stop" and chat.usage is not None

    fake_openai.chat_responder = lambda req: {
        "content": None,
        "tool_calls": [{"function": {"name": "lookup", "arguments": {"q": req["model"]}}}],
    }
    tools = openai_client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}]
    )
    call = tools.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert tools.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"q": MODEL}  # type: ignore[union-attr]

    deleted = openai_client.models.delete("ft:gpt-4o-mini-2024-07-18:org-test::abc")
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError) as gone:
        openai_client.chat.completions.create(
            model="ft:gpt-4o-mini-2024-07-18:org-test::abc",
            messages=[{"role": "user", "content": "x"}],
        )
    assert gone.value.code == "model_not_found"


def test_faults_and_retries(fake_openai: FakeOpenAI, openai_client: openai.OpenAI) -> None:
    file_id = _upload(openai_client)
    fake_openai.fail_next("POST", "/v1/fine_tuning/jobs", status=500, retry_after_ms=1)
    job_id = _job(openai_client, file_id)
    calls = fake_openai.calls_to("POST", "/v1/fine_tuning/jobs")
    assert [(c.status, c.headers["x-stainless-retry-count"]) for c in calls] == [
        (500, "0"),
        (200, "1"),
    ]
    assert list(fake_openai.jobs) == [job_id]
    # the fault tells the SDK when to retry (1 ms, instead of its default backoff)
    no_retry = openai_client.with_options(max_retries=0)
    fake_openai.fail_next("POST", "/v1/fine_tuning/jobs", status=500, retry_after_ms=1)
    with pytest.raises(openai.InternalServerError) as failed:
        _job(no_retry, file_id)
    assert failed.value.response.headers["retry-after-ms"] == "1"
    assert list(fake_openai.jobs) == [job_id]

    # applied then dropped: the SDK re-sends the POST and a second job is created
    fake_openai.fail_next("POST", "/v1/fine_tuning/jobs", apply_then_fail=True, drop=True)
    _job(openai_client, file_id)
    assert len(fake_openai.jobs) == 3

    fake_openai.fail_next("GET", "/v1/fine_tuning/jobs/", status=429, should_retry=False)
    with pytest.raises(openai.RateLimitError):
        openai_client.fine_tuning.jobs.retrieve(job_id)
    fake_openai.fail_next("*", "/v1/models", status=502, body="<html>Bad gateway</html>")
    with pytest.raises(openai.InternalServerError):
        no_retry.models.list()
    fake_openai.fail_next("GET", "/v1/fine_tuning/jobs/", malformed=True)
    with pytest.raises(json.JSONDecodeError):
        openai_client.fine_tuning.jobs.retrieve(job_id)
    fake_openai.fail_next("GET", "/v1/fine_tuning/jobs/", slow_ms=300)
    with pytest.raises(openai.APITimeoutError):
        no_retry.with_options(timeout=0.1).fine_tuning.jobs.retrieve(job_id)
