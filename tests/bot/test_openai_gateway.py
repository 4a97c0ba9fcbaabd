"""The OpenAI gateway against the fake OpenAI server, with the real SDK client."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import OpenAI

from bot.core.jobs import ServiceError
from bot.openai_gateway import OpenAIGateway
from tests.fakes.fake_openai import FakeOpenAI


@pytest.fixture
def openai_fake() -> FakeOpenAI:
    with FakeOpenAI() as fake:
        yield fake
    assert not fake.errors, fake.errors


def gateway(fake: FakeOpenAI, **kwargs: int) -> OpenAIGateway:
    return OpenAIGateway(OpenAI(api_key="sk-test", base_url=fake.base_url), **kwargs)


def test_large_files_go_through_the_uploads_api_in_parts(
    openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    data = b"".join(b'{"messages": [{"role": "user", "content": "%d"}]}\n' % i for i in range(200))
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    file_id = gateway(openai_fake, single_request_limit=1024, part_size=2048).upload(
        path, name="big.jsonl"
    )
    parts = [c for c in openai_fake.calls if c.path.endswith("/parts")]
    assert len(parts) == -(-len(data) // 2048)
    assert openai_fake.calls_to("POST", "/v1/files") == []
    assert openai_fake.files[file_id].content == data


def test_small_files_are_one_request(openai_fake: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    path.write_bytes(b"{}\n")
    file_id = gateway(openai_fake).upload(path, name="small.jsonl")
    assert openai_fake.files[file_id].obj["purpose"] == "fine-tune"
    assert openai_fake.files[file_id].obj["filename"] == "small.jsonl"


def test_validation_errors_name_the_field(openai_fake: FakeOpenAI) -> None:
    with pytest.raises(ServiceError) as info:
        gateway(openai_fake).create_job(
            metadata={}, model="gpt-4o-mini-2024-07-18", training_file="file-missing"
        )
    assert info.value.kind == "invalid_request" and info.value.param == "training_file"


def test_wind_down_is_its_own_kind(openai_fake: FakeOpenAI) -> None:
    openai_fake.training_not_available = True
    file_id = openai_fake.add_file(b"{}\n", "x.jsonl", "fine-tune")
    with pytest.raises(ServiceError) as info:
        gateway(openai_fake).create_job(
            metadata={},
            model="gpt-4o-mini-2024-07-18",
            training_file=getattr(file_id, "id", file_id),
        )
    assert info.value.kind == "training_not_available" and not info.value.retryable


def test_create_is_sent_once_on_a_server_error(openai_fake: FakeOpenAI) -> None:
    openai_fake.fail_next("POST", "/v1/fine_tuning/jobs", status=500)
    file_id = openai_fake.add_file(b"{}\n", "x.jsonl", "fine-tune")
    with pytest.raises(ServiceError) as info:
        gateway(openai_fake).create_job(
            metadata={"k": "v"},
            model="gpt-4o-mini-2024-07-18",
            training_file=getattr(file_id, "id", file_id),
        )
    assert info.value.retryable
    assert len(openai_fake.calls_to("POST", "/v1/fine_tuning/jobs")) == 1
