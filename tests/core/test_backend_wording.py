"""Backend-neutral wording: a refusal or a failure names the job's backend and its key variable,
never OpenAI for a Together job (issue 13)."""

from __future__ import annotations

import pytest

from bot.core.backend_names import backend_name
from bot.core.jobs import (
    NOT_CONFIGURED,
    JobSnapshot,
    ServiceError,
    explain,
    not_configured,
)
from bot.core.status import JobFacts, outcome_text
from bot.services.backends import Backends
from bot.services.ports import NotConfigured
from handlers.text import render


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("openai", "OpenAI isn't configured here: an admin sets OPENAI_API_KEY."),
        ("together", "Together AI isn't configured here: an admin sets TOGETHER_API_KEY."),
        ("Together", "Together AI isn't configured here: an admin sets TOGETHER_API_KEY."),
        ("azure", "Azure OpenAI isn't configured here: an admin sets AZURE_OPENAI_API_KEY."),
        (
            None,
            "No fine-tuning backend is configured here: an admin sets OPENAI_API_KEY or "
            "TOGETHER_API_KEY.",
        ),
        (
            "nonsense",
            "No fine-tuning backend is configured here: an admin sets OPENAI_API_KEY or "
            "TOGETHER_API_KEY.",
        ),
    ],
)
def test_not_configured_names_the_backend_and_its_key(backend: str | None, expected: str) -> None:
    assert not_configured(backend) == expected


def test_the_openai_constant_is_the_openai_line() -> None:
    assert not_configured("openai") == NOT_CONFIGURED and "\n" not in NOT_CONFIGURED


@pytest.mark.parametrize(
    ("name", "title"),
    [("openai", "OpenAI"), ("together", "Together AI"), ("Together", "Together AI"), ("x", "x")],
)
def test_backend_title(name: str, title: str) -> None:
    assert backend_name(name) == title


@pytest.mark.parametrize("name", ["together", "azure", "openai"])
def test_an_unconfigured_backend_refuses_by_name(name: str) -> None:
    backend = Backends({}).get(name)
    assert not backend.configured
    with pytest.raises(ServiceError) as info:
        backend.create_job(metadata={}, model="m")
    assert info.value.kind == "not_configured" and not info.value.retryable
    assert render(info.value.explained) == not_configured(name)


def test_no_backend_at_all_refuses_naming_both_keys() -> None:
    with pytest.raises(ServiceError) as info:
        NotConfigured().upload(None)
    shown = render(info.value.explained)
    assert "OPENAI_API_KEY" in shown and "TOGETHER_API_KEY" in shown


def test_explain_not_configured_follows_the_error_backend() -> None:
    assert render(explain("not_configured", "x", None, backend="Together")) == not_configured(
        "together"
    )


def test_a_failed_together_job_names_together_not_openai() -> None:
    job = JobSnapshot(id="ft-1", status="failed", model="meta-llama/x")
    facts = JobFacts(owner_id="U1", model="meta-llama/x", backend="together", remote_id="ft-1")
    text = render(outcome_text(facts=facts, snapshot=job))
    assert "OpenAI" not in text
    assert "Together AI gave no reason" in text and "contact Together AI support" in text
