"""Fine-tuned model families for inference (issue 14 point 4): each OpenAI model's family, the
day it stops answering, as data with a source; the warning for a family shut down or about to be."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.models import catalogue, inference_families, inference_family_of, inference_notice

ENDED = dt.date(2026, 10, 23)


@pytest.mark.parametrize(
    ("name", "family", "shutdown"),
    [
        ("ft:gpt-3.5-turbo-0125:acme::abc123", "ft-gpt-3.5-turbo", ENDED),
        ("ft:gpt-3.5-turbo-0613:acme::abc123", "ft-gpt-3.5-turbo", ENDED),  # not trainable: `bases`
        ("ft:gpt-4-0613:acme::abc123", "ft-gpt-4", ENDED),
        ("ft:gpt-4.1-nano-2025-04-14:acme:x:abc:ckpt-step-10", "ft-gpt-4.1-nano-2025-04-14", ENDED),
        ("ft:o4-mini-2025-04-16:acme::abc", "ft-o4-mini-2025-04-16", ENDED),
        ("ft:davinci-002:acme::abc", "ft-davinci-002", ENDED),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc", "ft-gpt-4o-mini-2024-07-18", None),
        ("ft:gpt-4.1-mini-2025-04-14:acme::abc:ckpt-step-5", "ft-gpt-4.1-mini-2025-04-14", None),
        ("gpt-4o", "ft-gpt-4o-2024-08-06", None),  # a base model by its alias
    ],
)  # fmt: skip
def test_the_family_and_its_shutdown_date(name: str, family: str, shutdown: dt.date | None) -> None:
    found = inference_family_of(name)
    assert found is not None and found.id == family and found.shutdown == shutdown
    assert found.source.startswith("https://") and found.source_date is not None


@pytest.mark.parametrize(
    "name", ["ft:gpt-5:acme::x", "nonsense", "", "ft:", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"]
)  # fmt: skip
def test_unknown_names_have_no_family(name: str) -> None:
    assert inference_family_of(name) is None


def test_other_backends_keep_their_own_lifetimes() -> None:
    assert inference_family_of("ft:gpt-4.1-nano-2025-04-14:acme::x", backend="azure") is None
    assert inference_family_of("ft:gpt-4.1-nano-2025-04-14:acme::x", backend="together") is None


def test_every_openai_model_names_a_family_of_the_catalogue() -> None:
    families = {f.id for f in inference_families()}
    for model in catalogue():
        if model.backend == "openai":
            assert model.inference_family in families, model.id


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 9, 1), None),  # 52 days ahead: not yet
        (dt.date(2026, 9, 23), "stops answering on 23 Oct 2026 (in 30 days: family ft-gpt-3.5-turbo shuts down)"),
        (dt.date(2026, 10, 22), "stops answering on 23 Oct 2026 (in 1 day: family ft-gpt-3.5-turbo shuts down)"),
        (ENDED, "no longer answers since 23 Oct 2026 (family ft-gpt-3.5-turbo shut down)"),
        (dt.date(2027, 2, 1), "no longer answers since 23 Oct 2026 (family ft-gpt-3.5-turbo shut down)"),
    ],
)  # fmt: skip
def test_the_warning_wording(today: dt.date, expected: str | None) -> None:
    notice = inference_notice("ft:gpt-3.5-turbo-0125:acme::x", today)
    assert (notice.words(today) if notice else None) == expected


def test_a_family_still_served_is_never_warned_about_and_the_base_wins() -> None:
    assert inference_notice("ft:gpt-4o-mini-2024-07-18:acme::x", dt.date(2030, 1, 1)) is None
    stored = inference_notice("my-model", dt.date(2027, 1, 1), base="gpt-3.5-turbo-0125")
    assert stored is not None and stored.ended
