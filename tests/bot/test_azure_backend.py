"""The Azure OpenAI adapter against the fake in Azure mode, with the real `AzureOpenAI` client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import AzureOpenAI

from bot.backends.azure import AzureBackend, normal_status
from bot.backends.together_shapes import CARRIED_KEY, key_tag
from bot.core.jobs import ServiceError
from tests.fakes.fake_openai import FakeOpenAI

VERSION = "2025-04-01-preview"
MODEL = "gpt-4o-mini-2024-07-18"
METADATA = {"slack_user": "U1", "slack_channel": "C1", "dataset": "F1", CARRIED_KEY: "req-1"}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(azure=True) as server:
        yield server
    assert not server.errors, server.errors


def backend(fake: FakeOpenAI, key: str = "azure-key") -> AzureBackend:
    client = AzureOpenAI(
        api_key=key, azure_endpoint=fake.azure_endpoint, api_version=VERSION, max_retries=0
    )
    return AzureBackend(client)


def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "d.jsonl"
    line = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "o"}]}
    path.write_text("\n".join(json.dumps(line) for _ in range(10)) + "\n")
    return path


def test_every_call_goes_to_openai_paths_with_api_version_and_api_key(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    azure = backend(fake)
    file_id = azure.upload(dataset(tmp_path), name="d.jsonl")
    job = azure.create_job(metadata=METADATA, model=MODEL, training_file=file_id, suffix="bot")
    azure.retrieve(job.id)
    azure.events(job.id)
    azure.checkpoints(job.id)
    assert fake.calls
    for call in fake.calls:
        assert call.path.startswith("/openai/"), call.path
        assert call.query.get("api-version") == VERSION
        assert call.headers.get("api-key") == "azure-key"
        assert "authorization" not in {h.lower() for h in call.headers}


def test_the_request_key_rides_in_the_suffix_not_in_metadata(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    azure = backend(fake)
    file_id = azure.upload(dataset(tmp_path), name="d.jsonl")
    job = azure.create_job(metadata=METADATA, model=MODEL, training_file=file_id, suffix="bot")
    (create,) = fake.calls_to("POST", "/openai/fine_tuning/jobs")
    assert create.json is not None and "metadata" not in create.json
    assert create.json["suffix"] == f"bot-{key_tag('req-1')}"
    assert len(create.json["suffix"]) <= 40
    assert job.status == "validating_files"


def test_an_ambiguous_create_is_found_by_its_suffix_tag(fake: FakeOpenAI, tmp_path: Path) -> None:
    azure = backend(fake)
    file_id = azure.upload(dataset(tmp_path), name="d.jsonl")
    other = azure.create_job(
        metadata={**METADATA, CARRIED_KEY: "req-0"}, model=MODEL, training_file=file_id
    )
    fake.fail_next("POST", "/openai/fine_tuning/jobs", status=500, apply_then_fail=True)
    with pytest.raises(ServiceError) as caught:
        azure.create_job(metadata=METADATA, model=MODEL, training_file=file_id)
    assert caught.value.retryable and caught.value.backend == "Azure OpenAI"
    found = azure.find_job(key=CARRIED_KEY, value="req-1")
    assert found is not None and found.id != other.id
    assert azure.find_job(key=CARRIED_KEY, value="req-2") is None
    assert azure.find_job(key="other", value="req-1") is None
    assert len(fake.jobs) == 2


def test_pause_resume_cancel_and_results_as_on_openai(fake: FakeOpenAI, tmp_path: Path) -> None:
    azure = backend(fake)
    file_id = azure.upload(dataset(tmp_path), name="d.jsonl")
    job = azure.create_job(metadata=METADATA, model=MODEL, training_file=file_id)
    fake.advance_job(job.id, status="running", step=1, total_steps=10, train_loss=0.9)
    assert azure.act("pause", job.id).status == "paused"
    assert azure.act("resume", job.id).status == "queued"
    fake.add_checkpoint(job.id, 5, {"train_loss": 0.5})
    fake.succeed(job.id, trained_tokens=1234)
    done = azure.retrieve(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    assert done.fine_tuned_model.startswith(f"{MODEL}.ft-")
    (checkpoint,) = azure.checkpoints(job.id)
    assert checkpoint.step == 5 and checkpoint.model.endswith(":ckpt-step-5")
    assert done.result_files and azure.file_content(done.result_files[0]).startswith(b"step")
    with pytest.raises(ServiceError) as caught:
        azure.act("cancel", job.id)
    assert caught.value.kind == "invalid_request" and caught.value.backend == "Azure OpenAI"


def test_a_refused_key_names_azure_and_its_variable(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.valid_keys = {"right"}
    with pytest.raises(ServiceError) as caught:
        backend(fake, key="wrong").retrieve("ftjob-x")
    assert caught.value.kind == "auth"
    text = "".join(str(getattr(p, "text", p)) for p in caught.value.explained.parts)
    assert "Azure OpenAI refused our API key (AZURE_OPENAI_API_KEY)" in text


def test_a_403_is_never_openais_wind_down_on_azure(fake: FakeOpenAI, tmp_path: Path) -> None:
    azure = backend(fake)
    file_id = azure.upload(dataset(tmp_path), name="d.jsonl")
    fake.training_not_available = True
    with pytest.raises(ServiceError) as caught:
        azure.create_job(metadata=METADATA, model=MODEL, training_file=file_id)
    assert caught.value.kind == "auth"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("created", "validating_files"), ("pending", "queued"), ("notRunning", "queued"),
     ("pausing", "running"), ("resuming", "queued"), ("running", "running"),
     ("paused", "paused"), ("succeeded", "succeeded"), ("canceled", "cancelled"),
     ("whatever", "whatever")],
)  # fmt: skip
def test_azure_states_are_normalised(raw: str, normal: str) -> None:
    assert normal_status(raw) == normal


def test_azures_own_states_reach_the_bot_normalised(fake: FakeOpenAI, tmp_path: Path) -> None:
    azure = backend(fake)
    file_id = azure.upload(dataset(tmp_path), name="d.jsonl")
    job = azure.create_job(metadata=METADATA, model=MODEL, training_file=file_id)
    fake.set_status(job.id, "pending")
    assert azure.retrieve(job.id).status == "queued"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [("/openai/fine_tuning/jobs", {}, 401),
     ("/openai/fine_tuning/jobs", {"Authorization": "Bearer k"}, 401),
     ("/openai/fine_tuning/jobs?x=1", {"api-key": "k"}, 404),
     ("/v1/fine_tuning/jobs?api-version=v", {"api-key": "k"}, 404),
     ("/openai/fine_tuning/jobs?api-version=v", {"api-key": "k"}, 200)],
)  # fmt: skip
def test_the_azure_fake_wants_api_key_and_api_version(
    fake: FakeOpenAI, path: str, headers: dict[str, str], status: int
) -> None:
    request = urllib.request.Request(fake.origin + path, headers=headers)
    try:
        with urllib.request.urlopen(request) as answer:
            got = answer.status
    except urllib.error.HTTPError as error:
        got = error.code
    assert got == status
