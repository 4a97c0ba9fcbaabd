"""The dataset report per configured backend (product §9 "Cost"): with OpenAI and Together
configured, the report posted in the upload's thread gives one estimate line per backend, naming
it — Together's count labelled an estimate and its price left to Together AI's quote, never $0.00 —
and the stored report keeps every model's token count for the job service; with only OpenAI
configured the report is as before."""

from __future__ import annotations

import pytest

from bot.report_models import ModelChoiceError
from storage.db import make_engine
from storage.repositories import DatasetRepository
from tests.conftest import shared
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_datasets import block_text, drop, reports
from tests.e2e.test_jobs import ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
TOGETHER_LINE = (
    f"*Together AI* · `{LLAMA}`: ~8,242 tokens × 1 epoch (estimated count: its tokenizer isn't "
    "shipped) · Together AI quotes the price when the job starts"
)
OPENAI_LINE = "*OpenAI* · `gpt-4o-mini-2024-07-18`: 8,233 tokens × 20 epochs · $0.49"


def both(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether, **settings: str
) -> Bot:
    return start_bot(
        slack, database_url, openai,
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url, **settings,
    )  # fmt: skip


def stored(database_url: str, file_id: str) -> dict:
    engine = make_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        record = DatasetRepository(engine=engine).get(slack_file_id=file_id)
    finally:
        engine.dispose()
    assert record is not None and record.report is not None
    return record.report


def test_both_backends_configured_report_a_line_each(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    bot = both(slack, database_url, openai, together)
    try:
        file = drop(bot, shared("toy_chat_fine_tuning.jsonl").read_bytes(), "toy.jsonl")
        report = wait_for(lambda: reports(slack), what="the report")[0]
    finally:
        bot.stop()
    blocks = block_text(report)
    assert "Estimate per backend" in blocks
    assert OPENAI_LINE in blocks and TOGETHER_LINE in blocks
    assert "$0.00" not in blocks + report["text"]
    assert "$0.49" in report["text"]  # the fallback text: the default backend's estimate
    assert "Too few examples (5)" in blocks  # OpenAI is the default: its minimum applies
    assert together.calls == []  # a report is offline: nothing asked of Together
    saved = stored(database_url, file["id"])
    assert saved["backend"] == "openai"
    lines = {line["model"]: line for line in saved["other_models"]}
    assert lines[LLAMA]["billed_tokens_per_epoch"] == 8242
    assert (lines[LLAMA]["epochs"], lines[LLAMA]["estimated_cost_usd"]) == (1, None)
    assert lines[LLAMA]["backend"] == "together" and lines[LLAMA]["tokens_estimated"] is True


def test_together_as_default_backend_leads_the_report(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    bot = both(slack, database_url, openai, together, FTBOT_DEFAULT_BACKEND="together")
    try:
        file = drop(bot, shared("toy_chat_fine_tuning.jsonl").read_bytes(), "toy.jsonl")
        report = wait_for(lambda: reports(slack), what="the report")[0]
    finally:
        bot.stop()
    blocks = block_text(report)
    assert blocks.index(TOGETHER_LINE) < blocks.index(OPENAI_LINE)
    assert "Too few examples" not in blocks  # Together's rules: 5 examples are enough
    assert "Together AI quotes the price when the job starts" in report["text"]
    assert "$0.00" not in blocks + report["text"]
    assert stored(database_url, file["id"])["backend"] == "together"


def test_only_openai_configured_is_as_before(bot: Bot) -> None:
    drop(bot, shared("toy_chat_fine_tuning.jsonl").read_bytes(), "toy.jsonl")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    blocks = block_text(report)
    assert "Together" not in blocks and "Estimate per backend" not in blocks
    assert "$0.49" in blocks and "gpt-4.1-mini-2025-04-14" in blocks


def test_an_unknown_together_default_model_stops_the_start(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    from bot.config import SettingsError

    with pytest.raises(SettingsError, match="FTBOT_TOGETHER_MODEL") as caught:
        both(slack, database_url, openai, together, FTBOT_TOGETHER_MODEL="org/not-a-model")
    assert not isinstance(caught.value, ModelChoiceError)


@pytest.mark.parametrize("default", ["openai", "together"])
def test_cost_gives_each_backend_its_own_default_epochs(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether, default: str
) -> None:
    """`/finetune cost` of an OpenAI and a Together model, whichever backend is the default:
    OpenAI's 3 epochs for 103 examples and its dollars, Together's 1 epoch and its quote."""
    bot = both(slack, database_url, openai, together, FTBOT_DEFAULT_BACKEND=default)
    try:
        file = ready(bot)
        _, on_openai = bot.command(f"cost {file['id']} model=gpt-4o-mini")
        _, on_together = bot.command(f"cost {file['id']} model={LLAMA}")
    finally:
        bot.stop()
    assert "57,716 billed tokens per epoch × 3 epochs" in on_openai["text"], on_openai
    assert "= *$0.52*" in on_openai["text"], on_openai
    assert "× 1 epoch" in on_together["text"] and "3 epochs" not in on_together["text"]
    assert "Together AI quotes the price when the job starts" in on_together["text"], on_together
    assert "$" not in on_together["text"], on_together
    assert together.calls == []  # an estimate is offline
