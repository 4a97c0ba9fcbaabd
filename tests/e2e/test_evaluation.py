"""Evaluation, end to end (product §10): `holdout=P%` on start, `/finetune eval` on demand with
progress and a scorecard in the dataset's thread, the cost cap, and access (§6)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from storage.evaluations import EvaluationRepository, HoldoutRepository
from storage.fine_tuned import ModelRepository
from storage.repositories import DatasetRepository
from tests.conftest import DATA
from tests.e2e.conftest import SECRET, Bot, start_bot, wait_for
from tests.e2e.test_access import share
from tests.e2e.test_jobs import creates, job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.grading import EvalChat
from tests.fakes.signing import command_request

pytestmark = pytest.mark.db

CHAT = "/v1/chat/completions"
BASE = "gpt-4o-mini-2024-07-18"
TUNED = f"ft:{BASE}:acme:eval:abc123"


def evaluate(bot: Bot, text: str, *, user: str = "U1", channel: str = "C1") -> str:
    """Run `/finetune eval …`; returns the final ephemeral answer (after the acknowledgement)."""
    bot.slack.ensure_user(user)
    with RecordingHost() as hooks:
        body, headers = command_request(
            text=text, secret=SECRET, user_id=user, channel_id=channel,
            response_url=hooks.url("/commands/T1/1/x"),
        )  # fmt: skip
        status, payload = bot.send(body, headers)
        assert status == 200, payload
        first = json.loads(payload)["text"] if payload else ""
        if not first.startswith("Evaluating"):
            return first  # refused in the acknowledgement itself (a malformed command)
        request = wait_for(lambda: hooks.requests, timeout=30, what="the answer")[-1]
        return str(json.loads(request.body)["text"])


def scorecards(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if "Scorecard" in (m.get("text") or "")]


def progress_lines(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if "is evaluating" in (m.get("text") or "")]


def add_model(bot: Bot, *, channel: str = "C1", owner: str = "U1") -> None:
    """A fine-tuned model owned in `channel` (as a finished job leaves it)."""
    now = dt.datetime.now(dt.UTC)
    repo = ModelRepository(engine=bot.services.engine)
    repo.add(name=TUNED, job_id=None, owner_id=owner, channel_id=channel, base_model=BASE, now=now)


def dataset_id(bot: Bot, file: dict[str, Any]) -> int:
    """The stored id of a shared file's dataset."""
    found = DatasetRepository(engine=bot.services.engine).get(slack_file_id=file["id"])
    assert found is not None
    return found.id


def doubles(question: str) -> str:
    """The reference answers of tests/data/bom.jsonl: `The answer is 2n.`"""
    n = int(re.search(r"number (\d+)", question).group(1))  # type: ignore[union-attr]
    return f"The answer is {2 * n}."


def questions(count: int) -> bytes:
    """A chat dataset like tests/data/bom.jsonl: `Question number n…` → `The answer is 2n.`"""
    return b"".join(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"Question number {n}: what is {n} plus {n}?"},
                    {"role": "assistant", "content": f"The answer is {2 * n}."},
                ]
            }
        ).encode()
        + b"\n"
        for n in range(count)
    )


@pytest.fixture
def bot(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    running = start_bot(slack, database_url, openai, FTBOT_EVAL_CONCURRENCY=4)
    yield running
    running.stop()


def test_holdout_uploads_only_the_training_part_and_keeps_the_rest_for_eval(
    bot: Bot, openai: FakeOpenAI
) -> None:
    content = questions(30)
    lines = content.splitlines()
    file = ready(bot, "sums.jsonl", content=content)
    _, answer = bot.command("start latest holdout=20% seed=7")
    assert "Starting fine-tuning" in answer["text"], answer
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    held = round(len(lines) * 0.2)
    assert f"Holding out 20% = {held} examples for evaluation (seed 7)" in post["text"]
    assert f"training on {len(lines) - held:,}" in post["text"]
    (create,) = creates(openai)
    uploaded = openai.files[create.json["training_file"]].content.splitlines()
    assert len(uploaded) == len(lines) - held  # only the training part went to OpenAI
    parsed = [json.loads(line) for line in lines]
    trained = [json.loads(line) for line in uploaded]
    split = HoldoutRepository(engine=bot.services.engine).latest_of_dataset(dataset_id(bot, file))
    assert split is not None and (split.seed, split.percent, split.held_out_count) == (7, 20, held)
    kept = [json.loads(line) for line in (split.held_out_examples or "").splitlines()]
    assert len(kept) == held and not [e for e in kept if e in trained]  # never trained on
    assert sorted(map(json.dumps, kept + trained)) == sorted(map(json.dumps, parsed))
    # the held-out part is what an evaluation reads (a base model alone, as a baseline)
    said = evaluate(bot, f"eval {BASE} latest")
    assert "scorecard is in the dataset's thread" in said, said
    card = wait_for(lambda: scorecards(bot.slack), what="scorecard")[0]
    assert f"{held} held-out examples" in card["blocks"][0]["text"]["text"]
    calls = openai.calls_to("POST", CHAT)
    assert len(calls) == held and {c.json["model"] for c in calls} == {BASE}


def test_eval_on_demand_posts_progress_and_a_scorecard(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot, "heldout.jsonl", content=(DATA / "bom.jsonl").read_bytes())
    add_model(bot)
    openai.add_model(TUNED)
    right_on_even = {  # the fine-tuned model: right on even questions, wrong on odd ones
        TUNED: lambda q: doubles(q) if int(re.findall(r"\d+", q)[0]) % 2 == 0 else "No idea.",
        BASE: lambda q: "I don't know.",
    }
    chat = EvalChat(answers=right_on_even)
    openai.chat_responder = chat
    said = evaluate(bot, f"eval {TUNED} heldout.jsonl")
    assert "scorecard is in the dataset's thread" in said, said
    card = wait_for(lambda: scorecards(bot.slack), what="scorecard")[0]
    root = file["shares"]["public"]["C1"][0]["ts"]
    assert card["thread_ts"] == root
    text = json.dumps(card["blocks"], ensure_ascii=False)
    assert "10 examples" in text
    assert "normalised 50% (5/10) · exact 50% (5/10)" in text  # the fine-tuned model
    assert "normalised 0% (0/10) · exact 0% (0/10)" in text  # its base
    # the grader prefers the answer equal to the reference: 5 wins, 5 ties (both wrong)
    assert f"win rate vs `{BASE}`: 75% (5 won, 5 tied, 0 lost of 10 graded)" in text
    assert "mean latency" in text and "This evaluation cost $0.00" in text
    # both orders were shown to the grader (position bias cancelled), each pair once
    assert len(chat.grader_prompts) == 10
    firsts = [
        p.split("## Answer 1\n<<<\n")[1].startswith("The answer") for p in chat.grader_prompts
    ]
    assert any(firsts) and not all(firsts)
    calls = openai.calls_to("POST", CHAT)
    assert len(calls) == 30  # 10 examples × 2 models + 10 grader calls (≤ 3N + N)
    # progress: one message edited in place, ending at 10/10
    (line,) = progress_lines(bot.slack)
    assert line["thread_ts"] == root and "10/10 answered" in line["text"]
    assert "estimated $" in line["text"] and "cap $1.00" in line["text"]
    # stored for the leaderboard
    (run,) = EvaluationRepository(engine=bot.services.engine).of_dataset(dataset_id(bot, file))
    assert run.status == "done" and run.cost_usd is not None and run.cost_usd > 0
    rows = {row.role: row for row in run.scores}
    assert (rows["model"].normalised, rows["model"].wins, rows["model"].ties) == (5, 5, 5)
    assert rows["model"].opponent == BASE and rows["base"].exact == 0


def test_eval_above_the_cap_is_refused_before_any_call(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(slack, database_url, openai, FTBOT_EVAL_MAX_USD=0.0001)
    try:
        ready(bot, "heldout.jsonl", content=(DATA / "bom.jsonl").read_bytes())
        add_model(bot)
        said = evaluate(bot, f"eval {TUNED} heldout.jsonl")
        assert "above the evaluation cost cap of $0.0001" in said, said
        assert "nothing was asked" in said
        assert openai.calls_to("POST", CHAT) == []
        assert not progress_lines(slack) and not scorecards(slack)
    finally:
        bot.stop()


def test_eval_refuses_what_the_user_may_not_see_like_what_does_not_exist(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    for user in ("UIN", "UOUT"):
        slack.add_user(user)
    slack.add_channel("G1", name="secret", members=["UIN", slack.bot_user_id])
    slack.add_channel("C1")
    bot = start_bot(slack, database_url, openai)
    try:
        share(bot, "G1", "UIN", "secret.jsonl", (DATA / "bom.jsonl").read_bytes())
        add_model(bot, channel="G1", owner="UIN")
        hidden = evaluate(bot, f"eval {BASE} secret.jsonl", user="UOUT")
        missing = evaluate(bot, f"eval {BASE} nothing.jsonl", user="UOUT")
        assert hidden == missing.replace("nothing.jsonl", "secret.jsonl"), (hidden, missing)
        ghost = "ft:gpt-4o-mini-2024-07-18:acme:eval:zzz999"
        hidden_model = evaluate(bot, f"eval {TUNED} secret.jsonl", user="UOUT")
        absent_model = evaluate(bot, f"eval {ghost} secret.jsonl", user="UOUT")
        assert "I don't know a model" in hidden_model
        assert hidden_model == absent_model.replace(ghost, TUNED)
        assert openai.calls_to("POST", CHAT) == []
        assert not progress_lines(slack, "G1") and not scorecards(slack, "G1")
    finally:
        bot.stop()
