"""The backend registry and the default-backend rule of product §9, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services.backends import (
    Backends,
    backend_of_job_id,
    default_backend,
)
from bot.services.ports import NotConfigured

BEFORE, AFTER = dt.date(2027, 1, 5), dt.date(2027, 1, 6)


@pytest.mark.parametrize(
    ("configured", "chosen", "today", "expected"),
    [
        (("openai",), None, BEFORE, "openai"),
        (("openai", "together"), None, BEFORE, "openai"),
        (("openai", "together"), None, AFTER, "together"),  # OpenAI takes no new jobs
        (("openai", "azure"), None, AFTER, "azure"),
        (("openai", "together", "azure"), None, AFTER, "together"),
        (("openai",), None, AFTER, "openai"),  # nothing else: OpenAI's 403 explains itself
        (("together",), None, BEFORE, "together"),
        (("openai", "together"), "together", BEFORE, "together"),  # FTBOT_DEFAULT_BACKEND
        (("openai", "together"), "openai", AFTER, "openai"),
    ],
)
def test_default_backend(
    configured: tuple[str, ...], chosen: str | None, today: dt.date, expected: str
) -> None:
    assert default_backend(configured, chosen=chosen, today=today) == expected


class Configured(NotConfigured):
    configured = True


def test_registry_answers_unconfigured_names_with_a_stand_in() -> None:
    backends = Backends({"openai": Configured(), "together": NotConfigured()})
    assert backends.configured() == ("openai",)
    assert backends.get("together").configured is False
    assert backends.get("azure").configured is False
    assert backends.default(AFTER) == "openai"
    with pytest.raises(ValueError):
        Backends({"mistral": Configured()})


@pytest.mark.parametrize(
    ("job_id", "backend"),
    [("ftjob-abc", "openai"), ("ft-8e2f-1234", "together"), ("whatever", "openai")],
)
def test_backend_of_job_id(job_id: str, backend: str) -> None:
    assert backend_of_job_id(job_id) == backend
