"""End-to-end harness: the real bot (Bolt app behind its WSGI guard on waitress) on port 0,
talking to a fake Slack (and fake OpenAI) over real HTTP; tests send signed requests."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.app import Runtime, build
from bot.config import load_settings
from bot.server import HttpServer, SlackWsgiApp
from bot.services.ports import Clock
from tests.db import fresh_database_url
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.signing import (
    action_request,
    command_request,
    event_request,
    post,
    view_submission_request,
)
from tests.fakes.slack_record import ENV as RECORD_ENV
from tests.fakes.slack_record import write_recording

SECRET = "test-signing-secret"


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Poll until `predicate()` is truthy; fail the test after `timeout` seconds.

    A passing test waits only as long as its condition takes; the generous default is for a
    loaded machine (the suite runs on parallel workers, more than the CPUs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


WORKING = "Working on it"  # the ack of a command whose answer missed the ack budget


@dataclass
class Bot:
    """A running bot and helpers to talk to it the way Slack does."""

    services: Runtime
    server: HttpServer
    slack: FakeSlack
    hooks: RecordingHost | None = None  # the commands' response_url host, started on first use

    @property
    def events_url(self) -> str:
        return f"{self.server.url}/slack/events"

    def send(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        status, _headers, payload = post(self.events_url, body, headers)
        return status, payload

    def command(self, text: str, *, user: str = "U1", channel: str = "C1") -> tuple[int, Any]:
        """Send `/finetune text`; returns the status and the answer. An answer that missed the
        ack budget (a loaded machine: the suite runs on parallel workers) comes as
        "Working on it…" then through the response_url: that follow-up is returned instead.
        (tests/e2e/test_slow_openai.py checks the ack itself.)"""
        self.slack.ensure_user(user)
        if self.hooks is None:
            self.hooks = RecordingHost().start()
        hooks, path = self.hooks, f"/commands/T1/{uuid.uuid4().hex}/x"
        body, headers = command_request(
            text=text, secret=SECRET, user_id=user, channel_id=channel,
            response_url=hooks.url(path),
        )  # fmt: skip
        status, payload = self.send(body, headers)
        answer = json.loads(payload) if payload else None
        if isinstance(answer, dict) and WORKING in str(answer.get("text")):
            late = wait_for(
                lambda: [r for r in list(hooks.requests) if r.path == path],
                what=f"the answer to {text!r} after the ack",
            )[0]
            answer = json.loads(late.body)
        if isinstance(answer, dict):
            with self.slack.lock:
                self.slack.command_answers.append(
                    {"command": f"/finetune {text}", "user": user, "channel": channel, **answer}
                )
        return status, answer

    def click(
        self, action_id: str, value: str, *, user: str = "U1", channel: str = "C1", **kwargs: Any
    ) -> int:
        self.slack.ensure_user(user)
        body, headers = action_request(
            action_id, value, secret=SECRET, user_id=user, channel_id=channel, **kwargs
        )
        return self.send(body, headers)[0]

    def submit(
        self, callback_id: str, values: dict[str, Any], *, user: str = "U1", **kwargs: Any
    ) -> tuple[int, Any]:
        self.slack.ensure_user(user)
        body, headers = view_submission_request(
            callback_id, values, secret=SECRET, user_id=user, **kwargs
        )
        status, payload = self.send(body, headers)
        return status, json.loads(payload) if payload else None

    def event(self, event: dict[str, Any], **kwargs: Any) -> int:
        for key in ("user", "user_id"):
            if isinstance(event.get(key), str):
                self.slack.ensure_user(event[key])
        body, headers = event_request(event, secret=SECRET, **kwargs)
        return self.send(body, headers)[0]

    def stop(self) -> None:
        self.server.close()
        self.services.close()
        if self.hooks is not None:
            self.hooks.stop()
            self.hooks = None


def start_bot(
    slack: FakeSlack,
    database_url: str,
    openai: FakeOpenAI | None = None,
    *,
    poll: bool = False,
    clock: Clock | None = None,
    **settings: Any,
) -> Bot:
    """Build and serve the bot against the fakes (`clock`: the services' time, default UTC now)."""
    if openai is not None:
        settings.setdefault("OPENAI_API_KEY", "sk-test-key")
        settings.setdefault("OPENAI_BASE_URL", openai.base_url)
    config = load_settings(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=database_url,
        **settings,
    )
    app, services = build(config, clock=clock)
    if poll:
        services.start_background()
    wsgi = SlackWsgiApp(app=app, services=services, signing_secret=SECRET)
    server = HttpServer(wsgi, host="127.0.0.1", port=0).start()
    return Bot(services=services, server=server, slack=slack)


@pytest.fixture
def slack(request: pytest.FixtureRequest) -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
        if os.environ.get(RECORD_ENV):  # what the bot posted, for docs/render_blocks.py
            write_recording(fake, request.node.nodeid, os.environ[RECORD_ENV])
    assert not fake.errors, fake.errors  # the fake itself crashed: the test proved nothing


@pytest.fixture
def together() -> Iterator[FakeTogether]:
    """A fake Together AI; fails the test on any request it could not answer."""
    with FakeTogether() as fake:
        yield fake
        assert not fake.errors, fake.errors


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(tmp_path) as url:
        yield url


@pytest.fixture
def bot(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    running = start_bot(slack, database_url, openai)
    yield running
    running.stop()


@pytest.fixture
def watching(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    """The bot with its poller running (every 0.2 s) and UADMIN as its admin."""
    slack.add_user("UADMIN")
    running = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN"
    )
    yield running
    running.stop()


def form(body: bytes) -> dict[str, str]:
    """A form-encoded body as a flat dict."""
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}
