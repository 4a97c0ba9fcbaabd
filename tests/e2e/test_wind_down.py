"""The way off OpenAI (issue 14 point 3, product §9 "The wind-down path"), end to end over
FakeSlack, FakeOpenAI and FakeTogether: OpenAI's 403 `training_not_available` offers a *Start on
Together AI* button that opens the start form for the same dataset on Together (its default
model preselected, settings carried where they mean the same) and starts the job there exactly
once; a forged button from someone who may not see the dataset answers like a missing request;
with no other backend the answer says how to configure one; the report and the form count down
to OpenAI's last day; after it the default backend moves to Together."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from handlers.blocks.jobs import START_CALLBACK
from tests.conftest import shared
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_access import share
from tests.e2e.test_datasets import reports
from tests.e2e.test_jobs import creates, ephemerals, job_posts, ready
from tests.e2e.test_start_form_backends import by_id, select, submission
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
TOGETHER_JOBS = "/v1/fine-tunes"
PRIVATE = "G1"


class DayClock:
    """The wall clock's time of day, moved to `day` (time still passes)."""

    def __init__(self, day: dt.date) -> None:
        now = dt.datetime.now(dt.UTC)
        self.delta = dt.datetime.combine(day, now.time(), dt.UTC) - now

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.delta


def with_together(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether, **kw: Any
) -> Bot:
    return start_bot(
        slack, database_url, openai, TOGETHER_API_KEY="together-test-key",
        TOGETHER_BASE_URL=together.base_url, **kw,
    )  # fmt: skip


@pytest.fixture
def two(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    for user in ("UIN", "UOUT"):
        slack.add_user(user)
    slack.add_channel(PRIVATE, name="secret", members=["UIN", slack.bot_user_id])
    bot = with_together(slack, database_url, openai, together, clock=DayClock(dt.date(2026, 12, 1)))
    openai.training_not_available = True
    yield bot
    bot.stop()


def together_creates(together: FakeTogether) -> list[Any]:
    return [c for c in together.calls_to("POST", TOGETHER_JOBS) if c.status == 200]


def refusal(bot: Bot, channel: str = "C1") -> dict[str, Any]:
    """The error OpenAI's 403 left in the dataset's thread."""
    return wait_for(
        lambda: [m for m in bot.slack.messages(channel) if "didn't start" in (m.get("text") or "")],
        what="the refusal in the thread",
    )[0]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def test_refused_on_openai_start_once_on_together(
    two: Bot, openai: FakeOpenAI, together: FakeTogether
) -> None:
    file = ready(two)
    _, payload = two.command(
        f"start {file['id']} epochs=2 batch=8 lr=0.5 suffix=drone seed=7", user="U5"
    )
    assert "Starting fine-tuning" in payload["text"], payload
    message = refusal(two)
    text = message["text"]
    assert "can no longer start fine-tuning jobs" in text
    assert "developers.openai.com/api/docs/deprecations" in text
    assert "Together AI" in text and "<@U5>" in text
    assert message["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
    (button,) = buttons(message)  # no Retry: OpenAI will not take it later either
    assert button["action_id"] == ids.JOB_START_ELSEWHERE
    assert button["text"]["text"] == "Start on Together AI"
    assert json.loads(button["value"])["backend"] == "together"
    assert creates(openai) == [] and together_creates(together) == []

    # anyone who may see the dataset clicks: the form for the same dataset on Together
    trigger = two.slack.new_trigger_id()
    assert two.click(ids.JOB_START_ELSEWHERE, button["value"], user="U6", trigger_id=trigger) == 200
    opened = wait_for(lambda: two.slack.answered("views.open"), what="views.open")[0]
    assert opened.params["trigger_id"] == trigger
    view = opened.response["view"]
    metadata = json.loads(view["private_metadata"])
    assert metadata["dataset"] == file["id"] and metadata["backend"] == "together"
    blocks = by_id(view)
    assert blocks["backend"]["element"]["initial_option"]["value"] == "together"
    assert blocks["model"]["element"]["initial_option"]["value"] == LLAMA
    assert blocks["epochs"]["element"]["initial_value"] == "2"
    assert blocks["batch"]["element"]["initial_value"] == "8"
    assert blocks["suffix"]["element"]["initial_value"] == "drone"
    assert "initial_value" not in blocks["learning_rate"]["element"]  # a multiplier isn't a rate
    assert "seed" not in blocks and "lr" not in blocks

    # submitting it starts the job on Together, once
    values = submission(LLAMA, epochs="2", batch="8", suffix="drone", training=select("lora"))
    status, answer = two.submit(
        START_CALLBACK, values, user="U6", private_metadata=view["private_metadata"],
        view_id=view["id"],
    )  # fmt: skip
    assert status == 200 and answer is None, answer
    call = wait_for(lambda: together_creates(together), what="the job on Together")[0]
    assert call.json["model"] == LLAMA and call.json["n_epochs"] == 2
    assert call.json["batch_size"] == 8
    assert call.json.get("learning_rate") != 0.5
    wait_for(lambda: job_posts(two.slack), what="the job post")

    # the same form again, and a second click and submit: no second job
    two.submit(
        START_CALLBACK, values, user="U6", private_metadata=view["private_metadata"],
        view_id=view["id"],
    )  # fmt: skip
    trigger = two.slack.new_trigger_id()
    assert two.click(ids.JOB_START_ELSEWHERE, button["value"], trigger_id=trigger) == 200
    again = wait_for(lambda: two.slack.answered("views.open")[1:], what="second views.open")[0]
    second = again.response["view"]
    status, answer = two.submit(
        START_CALLBACK, values, private_metadata=second["private_metadata"], view_id=second["id"]
    )
    assert status == 200 and answer is None, answer
    wait_for(
        lambda: sum("already received" in e for e in ephemerals(two.slack)) >= 2,
        what="the duplicate answers",
    )
    time.sleep(0.3)
    assert len(together_creates(together)) == 1 and creates(openai) == []


def test_a_forged_button_from_outside_answers_like_a_missing_request(
    two: Bot, openai: FakeOpenAI, together: FakeTogether
) -> None:
    file = share(two, PRIVATE, "UIN", "secret.jsonl", shared("drone_training.jsonl").read_bytes())
    two.command(f"start {file['id']}", user="UIN", channel=PRIVATE)
    (button,) = buttons(refusal(two, PRIVATE))
    forged = json.loads(button["value"])
    missing = json.dumps({"request": "view:VNOPE", "backend": "together"})
    for value in (button["value"], missing):
        assert two.click(ids.JOB_START_ELSEWHERE, value, user="UOUT") == 200
    answers = wait_for(
        lambda: (lambda said: said if len(said) >= 2 else None)(ephemerals(two.slack)),
        what="both answers",
    )
    assert answers[0] == answers[1] and "don't know that job request" in answers[0], answers
    # a backend that is not configured, from someone who may see it: refused, no form
    azure = json.dumps({"request": forged["request"], "backend": "azure"})
    assert two.click(ids.JOB_START_ELSEWHERE, azure, user="UIN", channel=PRIVATE) == 200
    wait_for(lambda: "configured" in ephemerals(two.slack)[-1], what="the azure refusal")
    time.sleep(0.2)
    assert two.slack.calls_to("views.open") == [] and together_creates(together) == []
    assert "secret.jsonl" not in json.dumps(
        [c.params for c in two.slack.calls_to("chat.postEphemeral")]
    )


def test_with_no_other_backend_the_refusal_says_how_to_configure_one(
    bot: Bot, openai: FakeOpenAI
) -> None:
    openai.training_not_available = True
    ready(bot)
    bot.command("start latest")
    message = refusal(bot)
    assert "TOGETHER_API_KEY" in message["text"] and "AZURE_OPENAI_API_KEY" in message["text"]
    assert "AZURE_OPENAI_ENDPOINT" in message["text"]
    assert buttons(message) == []


def test_the_report_and_the_form_count_down_to_openais_last_day(two: Bot) -> None:
    file = ready(two)
    report = reports(two.slack)[0]
    words = "OpenAI stops taking new fine-tuning jobs on 6 Jan 2027 (in 36 days)"
    assert words in json.dumps(report["blocks"], ensure_ascii=False)
    assert two.click(ids.DATASET_START, file["id"], trigger_id=two.slack.new_trigger_id()) == 200
    view = wait_for(lambda: two.slack.answered("views.open"), what="the form")[0].response["view"]
    assert json.loads(view["private_metadata"])["backend"] == "openai"
    assert words in json.dumps(view["blocks"], ensure_ascii=False)


def test_after_the_day_the_default_moves_to_together(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    bot = with_together(slack, database_url, openai, together, clock=DayClock(dt.date(2027, 1, 10)))
    try:
        file = ready(bot)
        assert "OpenAI stops" not in json.dumps(reports(slack)[0]["blocks"])
        assert bot.click(ids.DATASET_START, file["id"], trigger_id=slack.new_trigger_id()) == 200
        view = wait_for(lambda: slack.answered("views.open"), what="the form")[0].response["view"]
        assert json.loads(view["private_metadata"])["backend"] == "together"
        assert "OpenAI stops" not in json.dumps(view["blocks"])
        _, payload = bot.command("start latest")
        assert "on Together" in payload["text"], payload
        call = wait_for(lambda: together_creates(together), what="the job on Together")[0]
        assert call.json["model"] == LLAMA
        assert creates(openai) == [] and openai.calls_to("POST", "/v1/files") == []
    finally:
        bot.stop()
