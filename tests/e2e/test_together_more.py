"""Together, the last pieces of issue 13 end to end: a file Together's preprocessing rejects is
explained in the dataset's thread with nothing started, and `compare` on a model trained on
Together asks Together's chat completions for both the fine-tuned model and its base."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import DATA
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.e2e.test_models import ask
from tests.e2e.test_together_start import DEFAULT, creates, quotes, together_bot, uploads
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db

REASON = "Line 3: missing field 'messages' <!channel>"


@pytest.fixture
def bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    running = together_bot(slack, database_url, openai, together, poll=True, FTBOT_POLL_SECONDS=0.2)
    yield running
    running.stop()


def thread(bot: Bot, file: dict[str, Any]) -> list[dict[str, Any]]:
    return bot.slack.thread("C1", file["shares"]["public"]["C1"][0]["ts"])


def test_a_file_together_rejects_is_explained_in_the_thread_and_nothing_starts(
    bot: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    file = ready(bot)
    together.reject_next_file(REASON)
    status, payload = bot.command(f"start {file['id']} backend=together", user="U5")
    assert status == 200, payload
    said = wait_for(
        lambda: [m for m in thread(bot, file) if "rejected the file" in (m.get("text") or "")],
        what="Together's rejection in the dataset's thread",
    )
    text = said[0]["text"]
    assert "Together AI" in text and "missing field" in text, text
    assert "<!channel>" not in json.dumps(said) and "&lt;!channel&gt;" in text  # its words, inert
    assert not any("Traceback" in json.dumps(c.params) for c in bot.slack.calls)
    # uploaded once, then nothing quoted, created or posted as a job; OpenAI untouched
    assert len(uploads(together)) == 1
    assert creates(together) == [] and quotes(together) == [] and together.jobs == {}
    assert job_posts(bot.slack) == [] and openai.calls_to("POST", "/v1/files") == []


def test_compare_on_a_together_model_asks_together_for_it_and_its_base(
    bot: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    file = ready(bot)
    bot.command(f"start {file['id']} backend=together", user="U1")
    wait_for(lambda: job_posts(bot.slack), what="the job post")
    job_id = next(iter(together.jobs))
    together.advance(job_id, status="running", total_steps=2)
    together.advance(job_id, step=1, total_steps=2, train_loss=1.0)
    together.complete(job_id, token_count=1_000)
    output = together.jobs[job_id]["model_output_name"]
    wait_for(
        lambda: [m for m in thread(bot, file) if m.get("reply_broadcast")],
        what="the completion notice",
        timeout=30,
    )
    wait_for(  # the model is recorded with its job (base model, backend) before compare reads it
        lambda: bot.services.inspector._models.get(output),
        what="the model record",
    )
    ready(bot, "heldout.jsonl", content=(DATA / "bom.jsonl").read_bytes())

    def responder(request: dict[str, Any]) -> str:
        n = int(re.search(r"number (\d+)", request["messages"][-1]["content"]).group(1))  # type: ignore[union-attr]
        return f"The answer is {2 * n}." if request["model"] == output else "I don't know."

    together.chat_responder = responder
    result = json.dumps(ask(bot, f"compare {output} heldout.jsonl n=4"), ensure_ascii=False)
    assert "exact match: fine-tuned 4/4 (100%) · base 0/4 (0%)" in result, result
    called = together.chat_models_called()
    assert output in called and DEFAULT in called
    assert openai.calls_to("POST", "/v1/chat/completions") == []
