"""Fixtures for the fakes' own tests."""

from tests.fakes.fixtures import (  # noqa: F401
    fake_openai,
    fake_slack,
    foreign_host,
    openai_client,
    slack_client,
)
