"""`/finetune leaderboard <dataset>` end to end (product §10, §6): models from OpenAI and Together
AI ranked with scores, training cost and inference price, the channel's model marked; **Use this
model** changes the channel's default for `try` (owner or admin only); rows of another channel's
models are left out; a dataset the requester may not see answers like one that does not exist.
And `/finetune eval` of a model of another conversation goes to the requester's DM, never into
the dataset's thread."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from storage.fine_tuned import ModelRepository
from storage.jobs import JobRepository, NewJob, PollResult
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_access import share
from tests.e2e.test_evaluation import BASE, CHAT, doubles, evaluate, questions, scorecards
from tests.e2e.test_models import ask
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.grading import EvalChat

pytestmark = pytest.mark.db

TBASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
OPENAI_MODEL = f"ft:{BASE}:acme:lb:o1"
TOGETHER_MODEL = "acme/Meta-Llama-3.1-8B-Instruct-Reference-lb-t1"
HIDDEN_MODEL = f"ft:{BASE}:acme:lb:g1"
SECRET_CHANNEL = "G1"


def even(question: str) -> str:
    number = int(question.split("number ")[1].split(":")[0])
    return doubles(question) if number % 2 == 0 else "No idea."


def add_trained(
    bot: Bot, name: str, *, backend: str, base: str, channel: str, owner: str, **poll: Any
) -> None:
    """A fine-tuned model as a finished job leaves it: the job (with what it cost) and the model."""
    now = dt.datetime.now(dt.UTC)
    jobs = JobRepository(engine=bot.services.engine)
    job, _ = jobs.add_request(
        request_key=f"lb:{name}",
        now=now,
        request=NewJob(
            channel_id=channel, owner_id=owner, model=base, state="created",  # type: ignore[arg-type]
            backend=backend, remote_id=f"job-{name[-2:]}", status="succeeded",
        ),
    )  # fmt: skip
    jobs.record_poll(
        job_id=job.id,
        now=now,
        poll=PollResult(
            status="succeeded",
            snapshot={"billed_usd": poll["billed"]} if "billed" in poll else {},
            events_cursor=None,
            trained_tokens=poll.get("tokens"),
            fine_tuned_model=name,
            finished=True,
        ),
    )
    ModelRepository(engine=bot.services.engine).add(
        name=name, job_id=job.id, owner_id=owner, channel_id=channel, base_model=base,
        now=now, backend=backend,
    )  # fmt: skip


@pytest.fixture
def bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    for user in ("U1", "UIN", "UOUT"):
        slack.add_user(user)
    slack.add_channel(SECRET_CHANNEL, name="secret", members=["UIN", slack.bot_user_id])
    slack.add_channel("C1")  # open: everyone
    running = start_bot(
        slack, database_url, openai, FTBOT_EVAL_CONCURRENCY=4,
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
    )  # fmt: skip
    yield running
    running.stop()


def board(bot: Bot, dataset: str, *, user: str, channel: str = "C1") -> dict[str, Any]:
    status, payload = bot.command(f"leaderboard {dataset}", user=user, channel=channel)
    assert status == 200, payload
    return dict(payload)


def row_of(payload: dict[str, Any], model: str) -> dict[str, Any]:
    (found,) = [
        b for b in payload["blocks"] if f"`{model}` —" in (b.get("text") or {}).get("text", "")
    ]
    return found


def test_leaderboard_across_backends_and_use_this_model(
    bot: Bot, slack: FakeSlack, openai: FakeOpenAI, together: FakeTogether
) -> None:
    share(bot, "C1", "U1", "sums.jsonl", questions(10))
    add_trained(bot, OPENAI_MODEL, backend="openai", base=BASE, channel="C1", owner="U1",
                tokens=100_000)  # fmt: skip
    add_trained(bot, TOGETHER_MODEL, backend="together", base=TBASE, channel="C1", owner="U1",
                billed=1.23)  # fmt: skip
    add_trained(bot, HIDDEN_MODEL, backend="openai", base=BASE, channel=SECRET_CHANNEL,
                owner="UIN", tokens=1000)  # fmt: skip
    for model in (OPENAI_MODEL, HIDDEN_MODEL):
        openai.add_model(model)
    together.chat_models.add(TOGETHER_MODEL)
    grading = EvalChat(
        answers={OPENAI_MODEL: even, HIDDEN_MODEL: doubles, BASE: lambda q: "I don't know."}
    )
    openai.chat_responder = grading
    together.chat_responder = EvalChat(
        answers={TOGETHER_MODEL: doubles, TBASE: lambda q: "I don't know."}
    )
    for model in (OPENAI_MODEL, TOGETHER_MODEL):
        assert "dataset's thread" in evaluate(bot, f"eval {model} sums.jsonl", user="U1")
    # A model of another conversation, on this channel's dataset: only its requester sees it.
    said = evaluate(bot, f"eval {HIDDEN_MODEL} sums.jsonl", user="UIN")
    assert "direct messages" in said, said
    dm = "DIN"
    (card,) = wait_for(lambda: scorecards(slack, dm), what="the private scorecard")
    assert HIDDEN_MODEL in json.dumps(card["blocks"])
    assert [m for m in slack.messages(dm) if "10/10 answered" in (m.get("text") or "")]
    assert HIDDEN_MODEL not in json.dumps(slack.messages("C1"))
    assert len(scorecards(slack, "C1")) == 2

    # U1 (in C1, not in the secret channel): the hidden model's row is left out.
    seen = board(bot, "sums.jsonl", user="U1")
    text = json.dumps(seen, ensure_ascii=False)
    assert HIDDEN_MODEL not in text
    order = [b["text"]["text"].split("`")[1] for b in seen["blocks"][1:-1]]
    assert order[:2] == [TOGETHER_MODEL, OPENAI_MODEL] and set(order[2:]) == {BASE, TBASE}
    top = row_of(seen, TOGETHER_MODEL)["text"]["text"]
    assert "Together AI" in top and "normalised 100% (10/10)" in top
    assert "training $1.23" in top and "inference price unknown" in top
    assert "✅ *chosen for this channel*" in top  # the channel's newest model, until one is chosen
    second = row_of(seen, OPENAI_MODEL)
    assert "normalised 50% (5/10)" in second["text"]["text"]
    assert "training $0.30" in second["text"]["text"]  # 100,000 tokens × $3 / 1M
    assert "$0.30 in / $1.20 out per 1M tokens" in second["text"]["text"]
    assert second["accessory"]["action_id"] == ids.CHECKPOINT_CHOOSE
    assert second["accessory"]["text"]["text"] == "Use this model"
    assert "accessory" not in row_of(seen, BASE)  # a base model has no owner to choose it
    # UIN also sees the secret channel's model (first among equals: its price is known)
    assert board(bot, "sums.jsonl", user="UIN")["blocks"][1]["text"]["text"].split("`")[1] == (
        HIDDEN_MODEL
    )
    # Not the owner: no button, and a forged click changes nothing.
    assert "accessory" not in row_of(board(bot, "sums.jsonl", user="UOUT"), OPENAI_MODEL)
    bot.click(ids.CHECKPOINT_CHOOSE, OPENAI_MODEL, user="UOUT")
    wait_for(lambda: slack.calls_to("chat.postEphemeral"), what="the refusal")
    models = ModelRepository(engine=bot.services.engine)
    assert models.default_for_channel("C1") == TOGETHER_MODEL
    # The owner's click: the channel's default for `try` is now the OpenAI model.
    bot.click(ids.CHECKPOINT_CHOOSE, second["accessory"]["value"], user="U1")
    wait_for(lambda: models.default_for_channel("C1") == OPENAI_MODEL, what="the choice")
    answer = ask(bot, "try Question number 4: what is 4 plus 4?")
    assert OPENAI_MODEL in answer["_ack"] and "The answer is 8." in json.dumps(answer)
    assert openai.calls_to("POST", CHAT)[-1].json["model"] == OPENAI_MODEL
    after = board(bot, "sums.jsonl", user="U1")
    assert "chosen for this channel" in row_of(after, OPENAI_MODEL)["text"]["text"]
    assert "chosen for this channel" not in row_of(after, TOGETHER_MODEL)["text"]["text"]


def test_a_leaderboard_the_user_may_not_see_answers_like_a_missing_one(
    bot: Bot, slack: FakeSlack
) -> None:
    file = share(bot, SECRET_CHANNEL, "UIN", "secret.jsonl", questions(10))
    hidden = board(bot, file["id"], user="UOUT")["text"]
    missing = board(bot, "F0NOTHING", user="UOUT")["text"]
    assert hidden == missing.replace("F0NOTHING", file["id"]), (hidden, missing)
    mine = board(bot, file["id"], user="UIN", channel=SECRET_CHANNEL)["text"]
    assert "No model has been evaluated" in mine
