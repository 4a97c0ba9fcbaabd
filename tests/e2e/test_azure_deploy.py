"""`/finetune deploy` and trying Azure models, end to end: signed commands in, Slack Web API
calls and Azure control-plane requests (fake ARM + Entra token endpoint over https) out."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.core.jobs import JobState
from bot.services.deployments import deployment_name
from storage.deployments import DeploymentRepository
from storage.jobs import NewJob
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_models import ask
from tests.fakes.fake_azure_control import FakeAzureControl
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

MODEL = "gpt-4o-mini-2024-07-18.ft-0123456789abcdef"
OWNER = "UOWNER"


@pytest.fixture
def azure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzureControl]:
    with FakeAzureControl(tmp_path) as fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        yield fake
    assert not fake.errors, fake.errors


def add_model(bot: Bot, *, name: str = MODEL, backend: str = "azure", channel: str = "C1") -> str:
    """A finished job on `backend` that made `name`, owned by OWNER; its thread's ts."""
    bot.slack.ensure_user(OWNER)
    root = bot.services.client.chat_postMessage(channel=channel, text="job")["ts"]
    now = dt.datetime.now(dt.UTC)
    job, _ = bot.services.jobs._jobs.add_request(
        request_key=f"k:{name}", now=now, request=NewJob(
            channel_id=channel, owner_id=OWNER, model="gpt-4o-mini-2024-07-18",
            state=JobState.CREATED, status="succeeded", backend=backend,
            remote_id=f"ftjob-{name[-8:]}", thread_ts=root,
        ),
    )  # fmt: skip
    with bot.services.engine.begin() as connection:
        connection.execute(
            text("UPDATE jobs SET fine_tuned_model = :m WHERE id = :i"), {"m": name, "i": job.id}
        )
    bot.services.models._models.add(
        name=name, job_id=job.id, owner_id=OWNER, channel_id=channel,
        base_model="gpt-4o-mini-2024-07-18", now=now, backend=backend,
    )  # fmt: skip
    return str(root)


def deployments(bot: Bot) -> DeploymentRepository:
    return DeploymentRepository(engine=bot.services.engine)


def answer(bot: Bot, command: str, *, user: str = OWNER, channel: str = "C1") -> str:
    status, payload = bot.command(command, user=user, channel=channel)
    assert status == 200
    return str(payload["text"])


def replies(bot: Bot, root: str, channel: str = "C1") -> list[dict[str, Any]]:
    return [m for m in bot.slack.thread(channel, root) if m["ts"] != root]


@pytest.fixture
def plain(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    """A bot without Azure's control plane settings."""
    running = start_bot(slack, database_url, openai, FTBOT_ADMINS="UADMIN")
    yield running
    running.stop()


@pytest.fixture
def controlled(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure: FakeAzureControl
) -> Iterator[Bot]:
    """A bot that may create deployments through the (fake) control plane."""
    running = start_bot(slack, database_url, openai, FTBOT_ADMINS="UADMIN", **azure.settings())
    yield running
    running.stop()


def test_deploy_by_name_records_it_and_says_so_in_the_thread(plain: Bot) -> None:
    root = add_model(plain)
    said = answer(plain, f"deploy {MODEL} name=support-bot")
    assert "Recorded" in said and "support-bot" in said
    assert deployments(plain).deployment_of(backend="azure", model=MODEL) == "support-bot"
    [note] = replies(plain, root)
    assert "support-bot" in note["text"] and f"<@{OWNER}>" in note["text"]
    # an admin records another one later: it replaces the first
    answer(plain, f"deploy {MODEL} name=support-bot-2", user="UADMIN")
    assert deployments(plain).deployment_of(backend="azure", model=MODEL) == "support-bot-2"


def test_try_answers_through_the_recorded_deployment(plain: Bot, openai: FakeOpenAI) -> None:
    """Without a recorded deployment `try` says how to get one and calls nothing (the call
    through a deployment: test_try_and_compare_on_azure_call_the_deployment)."""
    add_model(plain)
    said = ask(plain, f"try {MODEL} hello", user=OWNER)["text"]
    assert f"/finetune deploy {MODEL}" in said and "deployment" in said
    assert not openai.calls_to("POST", "/v1/chat/completions")


def test_deploy_without_control_plane_says_how(plain: Bot) -> None:
    add_model(plain)
    said = answer(plain, f"deploy {MODEL}")
    assert "az cognitiveservices account deployment create" in said
    assert f"/finetune deploy {MODEL} name=" in said and "AZURE_SUBSCRIPTION_ID" in said
    assert deployments(plain).state(backend="azure", model=MODEL) is None


def test_deploy_refusals_send_nothing_to_azure(
    controlled: Bot, slack: FakeSlack, azure: FakeAzureControl
) -> None:
    add_model(controlled)
    add_model(controlled, name="ft:gpt-4o-mini-2024-07-18:acme::oa1", backend="openai")
    slack.add_user("UOTHER")
    slack.add_user("UIN")
    slack.add_channel("G1", members=["UIN", OWNER, slack.bot_user_id])
    add_model(controlled, name="gpt-4o-mini-2024-07-18.ft-secret0000000000", channel="G1")

    not_owner = answer(controlled, f"deploy {MODEL}", user="UOTHER")
    assert "can't do that" in not_owner
    not_azure = answer(controlled, "deploy ft:gpt-4o-mini-2024-07-18:acme::oa1")
    assert "Only Azure OpenAI models" in not_azure and "OpenAI" in not_azure
    hidden = answer(controlled, "deploy gpt-4o-mini-2024-07-18.ft-secret0000000000", user="UOTHER")
    missing = answer(controlled, "deploy gpt-4o-mini-2024-07-18.ft-nother0000000000", user="UOTHER")
    assert hidden.replace("secret", "nother") == missing and "don't know" in missing
    bad = answer(controlled, f"deploy {MODEL} name=<!channel>")
    assert "deployment name" in bad
    assert not azure.state.requests  # not even a token was asked for


def test_deploy_through_the_control_plane_once_with_progress(
    controlled: Bot, azure: FakeAzureControl
) -> None:
    root = add_model(controlled)
    name = deployment_name(MODEL)
    said: list[str] = []
    clicks = [
        threading.Thread(target=lambda: said.append(answer(controlled, f"deploy {MODEL}")))
        for _ in range(3)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    assert sum("progress is in its job's thread" in s and "Deploying" in s for s in said) == 1
    assert all("being deployed already" in s or "Deploying" in s for s in said), said
    wait_for(
        lambda: deployments(controlled).deployment_of(backend="azure", model=MODEL) == name,
        what="the deployment recorded",
    )
    [status] = wait_for(
        lambda: [m for m in replies(controlled, root) if "deployed" in m["text"]] or None,
        what="the final status",
    )
    assert len(replies(controlled, root)) == 1  # one status message, edited
    assert status["edit_count"] >= 1 and "/finetune try" in status["text"]
    [put] = azure.puts()
    assert put.path.endswith(f"/deployments/{name}")
    assert put.query["api-version"] == "2025-07-01-preview"
    body = json.loads(put.body)
    assert body["sku"] == {"name": "developertier", "capacity": 50}
    assert body["properties"]["model"] == {"format": "OpenAI", "name": MODEL, "version": "1"}
    assert (put.header("Authorization") or "").startswith("Bearer arm-token-")

    # deployed: asking again creates nothing
    assert "deployed already" in answer(controlled, f"deploy {MODEL}")
    assert len(azure.puts()) == 1
    # Azure deleted it after 24 h: the next deploy makes it again
    azure.expire(name)
    assert "Deploying" in answer(controlled, f"deploy {MODEL}")
    wait_for(lambda: len(azure.puts()) == 2, what="a second PUT")
    wait_for(
        lambda: deployments(controlled).deployment_of(backend="azure", model=MODEL) == name,
        what="recorded again",
    )


def test_refused_deployment_says_why_and_can_be_retried(
    controlled: Bot, azure: FakeAzureControl
) -> None:
    root = add_model(controlled)
    azure.refuse = (403, "AuthorizationFailed", "The client does not have authorization.")
    answer(controlled, f"deploy {MODEL}")
    [status] = wait_for(
        lambda: [m for m in replies(controlled, root) if ":x:" in m["text"]] or None,
        what="the failure",
    )
    assert "403" in status["text"] and "role" in status["text"]
    assert deployments(controlled).state(backend="azure", model=MODEL) is None  # claim released
    azure.refuse = None
    assert "Deploying" in answer(controlled, f"deploy {MODEL}")
    wait_for(
        lambda: deployments(controlled).deployment_of(backend="azure", model=MODEL) is not None,
        what="the retry",
    )


def test_failed_operation_is_one_line(controlled: Bot, azure: FakeAzureControl) -> None:
    root = add_model(controlled)
    azure.operation_failure = {"code": "InsufficientQuota", "message": "Quota exceeded"}
    answer(controlled, f"deploy {MODEL}")
    [status] = wait_for(
        lambda: [m for m in replies(controlled, root) if ":x:" in m["text"]] or None,
        what="the failure",
    )
    assert "quota" in status["text"].lower() and "Traceback" not in status["text"]


def test_try_and_compare_on_azure_call_the_deployment(slack: FakeSlack, database_url: str) -> None:
    with FakeOpenAI(azure=True) as azure:
        bot = start_bot(
            slack,
            database_url,
            azure,
            AZURE_OPENAI_ENDPOINT=azure.azure_endpoint,
            AZURE_OPENAI_API_KEY="az-key",
            OPENAI_API_VERSION="2025-04-01-preview",
        )
        try:
            add_model(bot)
            assert "configured" not in ask(bot, f"compare {MODEL}", user=OWNER)["text"]
            assert f"/finetune deploy {MODEL}" in ask(bot, f"compare {MODEL}", user=OWNER)["text"]
            answer(bot, f"deploy {MODEL} name=support-bot")
            # a recorded deployment that Azure doesn't have: said so, with the way back
            gone = ask(bot, f"try {MODEL} hello", user=OWNER)["text"]
            assert "support-bot" in gone and f"/finetune deploy {MODEL}" in gone
            azure.add_model("support-bot")
            azure.chat_responder = lambda request: "answer through the deployment"
            said = ask(bot, f"try {MODEL} hello", user=OWNER)["text"]
            assert "answer through the deployment" in said
            sent = azure.calls_to("POST", "/openai/deployments/support-bot/chat/completions")
            assert sent and all(c.headers["api-key"] == "az-key" for c in sent)
            assert not azure.calls_to("POST", f"/openai/deployments/{MODEL}/chat/completions")
        finally:
            bot.stop()
