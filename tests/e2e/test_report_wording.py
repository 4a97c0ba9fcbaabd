"""The report in plain words, end to end: a file with a JSON error and low diversity dropped in
Slack gets labels, the first bad line's start (escaped) and hints; a clean file with one reply
dominating is 'Ready · ⚠️ 1 warning' — with only OpenAI, and with Together AI as the default."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_datasets import block_text, drop, reports
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db


def row(i: int, reply: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                    {"role": "assistant", "content": reply}]})  # fmt: skip


def low_diversity(n: int = 40, same: int = 28) -> list[str]:
    return [row(i, "I can't help with that." if i < same else f"answer {i}") for i in range(n)]


@pytest.fixture(params=["openai", "together"])
def bot_on(
    request: pytest.FixtureRequest, slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> Iterator[Bot]:
    if request.param == "openai":
        bot = start_bot(slack, database_url, openai)
        yield bot
        bot.stop()
        return
    with FakeTogether() as together:
        bot = start_bot(
            slack, database_url, openai, TOGETHER_API_KEY="together-test-key",
            TOGETHER_BASE_URL=together.base_url, FTBOT_DEFAULT_BACKEND="together",
        )  # fmt: skip
        try:
            yield bot
        finally:
            bot.stop()
        assert together.calls == []  # a report asks nothing of the provider


def test_json_error_and_low_diversity_in_plain_words(bot_on: Bot) -> None:
    rows = low_diversity()
    rows[16] = '{"messages": [{"role": "user", "content": "<!channel> hi"},]}'
    drop(bot_on, ("\n".join(rows) + "\n").encode(), "support.jsonl")
    report = wait_for(lambda: reports(bot_on.slack), what="the report")[0]
    blocks = block_text(report)
    assert "⚠️ Needs fixes: support.jsonl" in blocks
    assert '*Not valid JSON* — line 17: `{\\"messages\\": [{\\"role\\": \\"user\\"' in blocks
    assert "&lt;!channel&gt; hi" in blocks and "<!channel>" not in blocks + report["text"]
    assert "— a trailing comma?" in blocks
    assert "⚠️ *One assistant reply fills 27 of 40 examples*" in blocks
    assert "the reply: `I can't help with that.`" in blocks
    for code in ("invalid_json", "low_diversity", "missing_system_message"):
        assert f"`{code}`" not in blocks
    assert "*No system message* — 39 examples (lines 1, 2, 3" in blocks  # line 17: not JSON
    assert "dataset_start" not in blocks


def test_clean_file_with_one_dominant_reply_is_ready_with_a_warning(bot_on: Bot) -> None:
    drop(bot_on, ("\n".join(low_diversity()) + "\n").encode(), "support.jsonl")
    report = wait_for(lambda: reports(bot_on.slack), what="the report")[0]
    blocks = block_text(report)
    assert "Ready · ⚠️ 1 warning: support.jsonl" in blocks
    assert report["text"].startswith("Ready · ⚠️ 1 warning: support.jsonl")
    assert "Ready to train" not in blocks
    assert "One assistant reply fills 28 of 40 examples" in blocks
    assert '"action_id": "dataset_start"' in blocks  # warnings do not block a start
