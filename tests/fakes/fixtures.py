"""Pytest fixtures for the fakes.

Import them into a ``conftest.py`` to use them (see ``tests/fakes/conftest.py``), or list
``"tests.fakes.fixtures"`` in the root conftest's ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from slack_sdk import WebClient

from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A running :class:`FakeSlack`; fails the test if the fake itself crashed."""
    with FakeSlack() as fake:
        yield fake
        assert not fake.errors, fake.errors


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running :class:`FakeOpenAI`; fails the test if the fake itself crashed."""
    with FakeOpenAI() as fake:
        yield fake
        assert not fake.errors, fake.errors


@pytest.fixture
def foreign_host() -> Iterator[RecordingHost]:
    """A recording server on 127.0.0.2 (a host other than the fake Slack's)."""
    with RecordingHost() as host:
        yield host


@pytest.fixture
def slack_client(fake_slack: FakeSlack) -> WebClient:
    """A real ``WebClient`` (default retry handlers) pointed at the fake."""
    return WebClient(base_url=fake_slack.base_url, token=fake_slack.bot_token, timeout=5)


@pytest.fixture
def openai_client(fake_openai: FakeOpenAI) -> openai.OpenAI:
    """A real ``openai.OpenAI`` pointed at the fake (``max_retries=2``, 5 s timeout)."""
    return openai.OpenAI(base_url=fake_openai.base_url, api_key="test", timeout=5, max_retries=2)
