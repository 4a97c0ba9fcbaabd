"""The automatic scorecard (product §10), end to end: a job with `holdout=20%` gets one scorecard
in its thread after success (the base model, the fine-tuned model and the dataset's best so far);
`eval=off` gets none; the cost cap stops it with one line; two replicas post it once; a replica
taking over after a crash edits the progress line already posted and posts one scorecard."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, text

from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_evaluation import BASE, CHAT, doubles, questions
from tests.e2e.test_jobs import ready
from tests.e2e.test_watch import settled
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.grading import EvalChat

pytestmark = pytest.mark.db

HELD = 6  # 20% of 30 examples


def tuned(n: int) -> str:
    return f"ft:{BASE}:acme:auto{n}:abc{n}"


def chat(openai: FakeOpenAI, *right: str) -> EvalChat:
    """The models in `right` answer every held-out question right; the base doesn't know."""
    responder = EvalChat(answers={BASE: lambda q: "I don't know.", **dict.fromkeys(right, doubles)})
    openai.chat_responder = responder
    return responder


def scorecards(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if (m.get("text") or "").startswith("Scorecard")]


def progress(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    return [m for m in slack.messages(channel) if "📊 Evaluating" in (m.get("text") or "")]


def state(engine: Engine, remote_id: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "select e.state from job_evaluations e join jobs j on j.id = e.job_id "
                "where j.remote_id = :job"
            ),
            {"job": remote_id},
        ).scalar()


def posted(engine: Engine, remote_id: str) -> bool:
    """The job's post is in its thread (its status message recorded)."""
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text("select status_ts from jobs where remote_id = :job"), {"job": remote_id}
            ).scalar()
        )


def run(bot: Bot, openai: FakeOpenAI, model: str, options: str = "") -> str:
    """Start a job on the dataset with `holdout=20%`, let it succeed as `model`; its job id."""
    before = set(openai.jobs)
    _, answer = bot.command(f"start latest holdout=20% {options}".strip())
    assert "Starting fine-tuning" in answer["text"], answer
    job_id = wait_for(lambda: set(openai.jobs) - before, what="the job")
    (job_id,) = job_id
    wait_for(lambda: posted(bot.services.engine, job_id), what="job post")
    openai.add_model(model)
    openai.succeed(job_id, trained_tokens=10_000, fine_tuned_model=model)
    wait_for(lambda: settled(bot.services.engine, job_id), what="the job finished")
    return str(job_id)


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card["blocks"], ensure_ascii=False)


@pytest.fixture
def bot(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[Bot]:
    running = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_EVAL_CONCURRENCY=4
    )
    yield running
    running.stop()


def test_holdout_jobs_get_one_scorecard_each_and_eval_off_none(
    bot: Bot, openai: FakeOpenAI
) -> None:
    file = ready(bot, "sums.jsonl", content=questions(30))
    root = file["shares"]["public"]["C1"][0]["ts"]
    chat(openai, tuned(1), tuned(3))
    first = run(bot, openai, tuned(1))
    card = wait_for(lambda: scorecards(bot.slack), what="the first scorecard")[0]
    assert card["thread_ts"] == root  # the job's thread
    body = card_text(card)
    assert f"{HELD} held-out examples" in body and tuned(1) in body
    assert f"normalised 100% ({HELD}/{HELD}) · exact 100% ({HELD}/{HELD})" in body
    assert f"normalised 0% (0/{HELD})" in body  # its base
    assert f"win rate vs `{BASE}`: 100% ({HELD} won, 0 tied, 0 lost of {HELD} graded)" in body
    assert "the dataset's best model" not in body  # nothing was evaluated before
    (line,) = progress(bot.slack)
    assert line["thread_ts"] == root and f"{HELD}/{HELD} answered" in line["text"]
    assert "estimated $" in line["text"]
    assert len(openai.calls_to("POST", CHAT)) == 3 * HELD  # 2 models + the grader
    wait_for(lambda: state(bot.services.engine, first) == "done", what="recorded as done")

    off = run(bot, openai, tuned(2), "eval=off")
    assert state(bot.services.engine, off) == "off"

    run(bot, openai, tuned(3))
    third = wait_for(
        lambda: [c for c in scorecards(bot.slack) if tuned(3) in card_text(c)], what="scorecard 3"
    )[0]
    body = card_text(third)
    assert f"*`{tuned(1)}`* — the dataset's best model" in body
    assert len(scorecards(bot.slack)) == 2  # none for the job with eval=off
    assert not [c for c in scorecards(bot.slack) if tuned(2) in card_text(c)]
    assert len(openai.calls_to("POST", CHAT)) == 3 * HELD + 4 * HELD  # 3 models + the grader


def test_the_cap_stops_an_automatic_evaluation_with_one_line(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_EVAL_MAX_USD=0.0005
    )
    try:
        file = ready(bot, "sums.jsonl", content=questions(30))
        job = run(bot, openai, tuned(1))
        wait_for(lambda: state(bot.services.engine, job) == "skipped", what="skipped")
        lines = [
            m
            for m in slack.thread("C1", file["shares"]["public"]["C1"][0]["ts"])
            if "No scorecard" in (m.get("text") or "")
        ]
        (line,) = lines
        assert "above the evaluation cost cap of $0.0005: nothing was asked" in line["text"]
        fits = re.search(r"About (\d) examples? fit: evaluate fewer with `([^`]*)`", line["text"])
        assert fits is not None, line["text"]
        assert fits[2] == f"/finetune eval {tuned(1)} {file['id']} n={fits[1]}"
        assert 0 < int(fits[1]) < HELD
        assert openai.calls_to("POST", CHAT) == [] and not scorecards(slack)
    finally:
        bot.stop()


def test_two_replicas_post_one_scorecard(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    replicas = [
        start_bot(slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2) for _ in range(2)
    ]
    try:
        openai.chat_latency_ms = 20  # long enough for both replicas' ticks to see it due
        chat(openai, tuned(1))
        ready(replicas[0], "sums.jsonl", content=questions(30))
        job = run(replicas[0], openai, tuned(1))
        wait_for(lambda: state(replicas[0].services.engine, job) == "done", what="done")
    finally:
        for replica in replicas:
            replica.stop()
    assert len(scorecards(slack)) == 1 and len(progress(slack)) == 1
    assert len(openai.calls_to("POST", CHAT)) == 3 * HELD  # asked once


def test_a_replica_takes_over_an_evaluation_left_by_a_crash(
    bot: Bot, slack: FakeSlack, openai: FakeOpenAI
) -> None:
    file = ready(bot, "sums.jsonl", content=questions(30))
    root = file["shares"]["public"]["C1"][0]["ts"]
    chat(openai, tuned(1))
    job = run(bot, openai, tuned(1), "eval=off")
    assert state(bot.services.engine, job) == "off" and not progress(slack)
    # What a replica that died mid-evaluation leaves: its progress line, a lease run out.
    client = WebClient(token=slack.bot_token, base_url=slack.base_url)
    ts = client.chat_postMessage(
        channel="C1", thread_ts=root, text="📊 Evaluating … 2/6 answered."
    )["ts"]
    with bot.services.engine.begin() as connection:
        connection.execute(
            text(
                "update job_evaluations set state = 'running', lease_owner = 'eval-dead', "
                "lease_until = :past, attempts = 1, progress_ts = :ts "
                "where job_id = (select id from jobs where remote_id = :job)"
            ),
            {"past": dt.datetime(2000, 1, 1, tzinfo=dt.UTC), "ts": ts, "job": job},
        )
    wait_for(lambda: state(bot.services.engine, job) == "done", what="taken over and done")
    (card,) = scorecards(slack)
    assert card["thread_ts"] == root and f"normalised 100% ({HELD}/{HELD})" in card_text(card)
    (line,) = progress(slack)  # the same line, edited to the end
    assert line["ts"] == ts and f"{HELD}/{HELD} answered" in line["text"]
