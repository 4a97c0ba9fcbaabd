"""User, file and model text never pings or phishes, end to end through the signed endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_datasets import reports
from tests.e2e.test_jobs import job_posts, ready
from tests.e2e.test_models import ask
from tests.e2e.test_watch import run_job, thread
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import app_home_opened_event, app_mention_event
from tests.inert import check_payload, check_sent

pytestmark = pytest.mark.db

EVIL_NAME = "x` <!channel> <https://evil.example|login> `y.jsonl"
EVIL_TEXT = "<!channel> <https://evil.example|click>"
EVIL_ANSWER = "<!everyone> <https://evil.example|x>"
USERS = ("U1", "UOWNER")
CHANNELS = ("C1",)


def inert(payload: Any) -> str:
    """Check a payload the bot answered with; return it as text for further checks."""
    assert check_payload(payload, users=USERS, channels=CHANNELS) >= 1, payload
    return json.dumps(payload, ensure_ascii=False)


def hostile_dataset(n: int = 12) -> bytes:
    """A valid chat dataset whose prompts and reference answers carry pings and links."""
    rows = [
        {
            "messages": [
                {"role": "system", "content": "You answer <!here> questions."},
                {"role": "user", "content": f"question {i} {EVIL_TEXT} <@U999>"},
                {"role": "assistant", "content": f"<!channel> answer {i} <https://evil.example|x>"},
            ]
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(row) for row in rows).encode() + b"\n"


@pytest.fixture
def polling(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    bot = start_bot(slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2)
    yield bot
    bot.stop()


def test_a_hostile_file_name_stays_inside_its_code_spans(polling: Bot, openai: FakeOpenAI) -> None:
    bot = polling
    file = ready(bot, EVIL_NAME)
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    assert "x` &lt;!channel&gt; &lt;https://evil.example|login&gt; `y.jsonl" in report["text"]
    answers = [bot.command(text)[1] for text in ("datasets", f"cost {file['id']}")]
    bot.click(ids.DATASET_START, file["id"])
    wait_for(lambda: bot.slack.calls_to("views.open"), what="the start form")
    # the job: its post, status message, events, checkpoints and completion in the thread
    bot.command("start latest", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    assert "`xˋ &lt;!channel&gt; &lt;https://evil.example|login&gt; ˋy.jsonl`" in post["text"]
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="running", step=1, total_steps=2)
    openai.add_checkpoint(job_id, 2, {"valid_loss": 0.2})
    openai.succeed(job_id, trained_tokens=1000)
    wait_for(
        lambda: [
            m for m in thread(bot, post) if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks"))
        ],
        what="checkpoint choice",
    )
    # the status message is edited by the same poll that posts the notices, maybe just after
    status = wait_for(
        lambda: [
            m for m in bot.slack.messages("C1") if m["ts"] == post["ts"] and m["edit_count"] >= 1
        ],
        what="the status message edited",
    )[0]
    assert "&lt;!channel&gt;" in json.dumps(status["blocks"])
    answers += [bot.command(text)[1] for text in ("jobs", "models", f"status {job_id}")]
    answers.append(bot.command(f"events {job_id}")[1])
    assert bot.event(app_home_opened_event("U1")) == 200
    wait_for(lambda: bot.slack.calls_to("views.publish"), what="the Home tab")
    for answer in answers:
        inert(answer)
    assert check_sent(bot.slack, users=USERS, channels=CHANNELS) >= 10
    assert "<!channel>" not in json.dumps([c.params for c in bot.slack.calls_to("views.publish")])


def test_events_from_the_provider_are_inert(bot: Bot, openai: FakeOpenAI) -> None:
    ready(bot)
    bot.command("start latest", user="UOWNER")
    wait_for(lambda: job_posts(bot.slack), what="job post")
    job_id = next(iter(openai.jobs))
    openai.add_event(job_id, f"Step 3: {EVIL_ANSWER} `broken``` code", level="warn")
    text = inert(bot.command(f"events {job_id}")[1])
    assert "&lt;!everyone&gt; &lt;https://evil.example|x&gt;" in text


@pytest.fixture
def trained(polling: Bot, openai: FakeOpenAI) -> Iterator[tuple[Bot, str]]:
    job_id, post = run_job(polling, openai, steps=10)
    wait_for(
        lambda: [
            m for m in thread(polling, post) if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks"))
        ],
        what="checkpoints",
    )
    yield polling, openai.jobs[job_id]["fine_tuned_model"]


def test_try_echoes_the_prompt_and_relays_the_answer_inertly(
    trained: tuple[Bot, str], openai: FakeOpenAI
) -> None:
    bot, model = trained
    openai.chat_responder = lambda request: EVIL_ANSWER
    answer = ask(bot, f"try {model} {EVIL_TEXT}")
    sent = openai.calls_to("POST", "/v1/chat/completions")[-1].json
    assert sent["messages"] == [{"role": "user", "content": EVIL_TEXT}]  # the model gets it as is
    text = inert(answer)
    assert ">&lt;!channel&gt; &lt;https://evil.example|click&gt;" in text  # the quoted prompt
    assert "&lt;!everyone&gt; &lt;https://evil.example|x&gt;" in text
    assert answer["text"] == f"{model}: &lt;!everyone&gt; &lt;https://evil.example|x&gt;"
    # the same through a mention: the reply in the thread is inert too
    assert bot.event(app_mention_event(f"try {model} {EVIL_TEXT}", ts="1700000200.000100")) == 200
    reply = wait_for(
        lambda: [
            m
            for m in bot.slack.thread("C1", "1700000200.000100")
            if "evil.example" in (m.get("text") or "")
        ],
        what="the mention's reply",
    )[0]
    assert "&lt;!everyone&gt;" in reply["text"]
    assert check_sent(bot.slack, users=USERS, channels=CHANNELS) >= 10


def test_compare_shows_hostile_examples_and_answers_inertly(
    trained: tuple[Bot, str], openai: FakeOpenAI
) -> None:
    bot, model = trained
    file = ready(bot, EVIL_NAME, content=hostile_dataset())
    openai.chat_responder = lambda request: EVIL_ANSWER
    result = ask(bot, f"compare {model} {file['id']} n=3")
    text = inert(result)
    for shown in (
        "question 0 &lt;!channel&gt; &lt;https://evil.example|click&gt; &lt;@U999&gt;",
        "&lt;!channel&gt; answer 0 &lt;https://evil.example|x&gt;",
        "&lt;!everyone&gt; &lt;https://evil.example|x&gt;",
        "`xˋ &lt;!channel&gt; &lt;https://evil.example|login&gt; ˋy.jsonl`",
    ):
        assert shown in text, shown
    assert len(openai.calls_to("POST", "/v1/chat/completions")) == 6
    assert check_sent(bot.slack, users=USERS, channels=CHANNELS) >= 10
