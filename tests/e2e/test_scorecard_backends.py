"""The automatic scorecard on every backend, and an evaluation through provider faults (issue 16
points 2 and 6), end to end: a Together AI job with `holdout=20%` gets its scorecard (Together
answers, the grader on OpenAI, the price unknown said so); an Azure OpenAI job whose model has no
deployment gets a partial scorecard naming what is missing and how to deploy it (one line, and
no scorecard, when its base model has none either); a 429 and a 500
on a model call are retried by the SDK and the scorecard is whole; a call failing past the SDK's
retries leaves a partial scorecard that says so."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import ids
from handlers.blocks.start_form import START_CALLBACK
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_azure_deploy import answer as deploy
from tests.e2e.test_azure_jobs import azure_settings
from tests.e2e.test_evaluation import BASE, CHAT, TUNED, add_model, doubles, evaluate, questions
from tests.e2e.test_jobs import creates, job_posts, ready
from tests.e2e.test_scorecard import HELD, card_text, posted, scorecards, state
from tests.e2e.test_scorecard import bot as bot  # polling, evaluating at concurrency 4
from tests.e2e.test_start_form_backends import select, submission
from tests.e2e.test_watch import settled
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.grading import EvalChat

pytestmark = pytest.mark.db

TBASE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
AZURE_CHAT = "/openai/deployments/"


def dont_know(question: str) -> str:
    return "I don't know."


def start_holdout_job(bot: Bot, jobs: dict[str, Any], backend: str) -> str:
    """`start latest backend=… holdout=20%`; the provider's job id once its post is recorded."""
    before = set(jobs)
    status, answer = bot.command(f"start latest backend={backend} holdout=20%")
    assert status == 200, answer
    (job_id,) = wait_for(lambda: set(jobs) - before, what="the job")
    wait_for(lambda: posted(bot.services.engine, job_id), what="the job post")
    return str(job_id)


def test_a_together_job_gets_its_scorecard(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_EVAL_CONCURRENCY=4,
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
    )  # fmt: skip
    try:
        file = ready(bot, "sums.jsonl", content=questions(30))
        root = file["shares"]["public"]["C1"][0]["ts"]
        job_id = start_holdout_job(bot, together.jobs, "together")
        # only the training part went to Together
        trained = together.files[together.jobs[job_id]["training_file"]]
        assert len(trained.content.splitlines()) == 30 - HELD
        output = together.jobs[job_id]["model_output_name"]
        together.chat_responder = EvalChat(answers={output: doubles, TBASE: dont_know})
        grader = EvalChat()
        openai.chat_responder = grader  # the grader runs on OpenAI
        together.complete(job_id, token_count=10_000)
        wait_for(lambda: settled(bot.services.engine, job_id), what="the job finished")
        card = wait_for(lambda: scorecards(slack), timeout=30, what="the scorecard")[0]
        assert card["thread_ts"] == root
        body = card_text(card)
        assert f"*`{output}`* — the model, Together AI" in body
        assert f"*`{TBASE}`* — the base model, Together AI" in body
        assert f"normalised 100% ({HELD}/{HELD}) · exact 100% ({HELD}/{HELD})" in body
        assert f"normalised 0% (0/{HELD})" in body
        assert f"win rate vs `{TBASE}`: 100% ({HELD} won, 0 tied, 0 lost of {HELD} graded)" in body
        assert "price unknown" in body and "plus the unpriced calls of" in body
        assert "Partial result" not in body
        asked = together.chat_models_called()
        assert sorted(asked) == sorted([output] * HELD + [TBASE] * HELD)
        assert len(grader.grader_prompts) == HELD == len(openai.calls_to("POST", CHAT))
        wait_for(lambda: state(bot.services.engine, job_id) == "done", what="recorded as done")
    finally:
        bot.stop()


def test_an_azure_model_without_a_deployment_gets_a_partial_scorecard_saying_how(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    with FakeOpenAI(azure=True) as azure:
        slack.add_user("UADMIN")
        bot = start_bot(
            slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2,
            FTBOT_ADMINS="UADMIN", FTBOT_EVAL_CONCURRENCY=4, **azure_settings(azure),
        )  # fmt: skip
        try:
            file = ready(bot, "sums.jsonl", content=questions(30))
            root = file["shares"]["public"]["C1"][0]["ts"]
            # neither the model nor its base has a deployment: one line says how, no scorecard
            first = start_holdout_job(bot, azure.jobs, "azure")
            azure.succeed(first, trained_tokens=10_000)
            unasked = azure.jobs[first]["fine_tuned_model"]
            wait_for(lambda: state(bot.services.engine, first) == "skipped", what="skipped")
            (line,) = [m for m in slack.thread("C1", root) if "No scorecard" in m["text"]]
            assert (
                f"📊 No scorecard for `{unasked}`: `{unasked}` is an Azure OpenAI model"
                in (line["text"])
            )
            assert f"`/finetune deploy {unasked}` makes one" in line["text"]
            assert not scorecards(slack) and not [
                c for c in azure.calls if "/deployments/" in c.path
            ]
            # the base model's shared deployment (an admin's), so the base can answer
            assert "Recorded" in deploy(bot, f"deploy {BASE} name=base-mini", user="UADMIN")
            azure.add_model("base-mini")
            azure.chat_responder = EvalChat(answers={"base-mini": doubles})
            job_id = start_holdout_job(bot, azure.jobs, "azure")
            azure.succeed(job_id, trained_tokens=10_000)
            model = azure.jobs[job_id]["fine_tuned_model"]
            wait_for(lambda: settled(bot.services.engine, job_id), what="the job finished")
            card = wait_for(lambda: scorecards(slack), timeout=30, what="the scorecard")[0]
            assert card["thread_ts"] == root
            body = card_text(card)
            assert f"*Scorecard* for `{model}`" in body
            assert f"*`{BASE}`* — the base model, Azure OpenAI" in body
            assert f"normalised 100% ({HELD}/{HELD})" in body  # the base answered
            assert "Partial result" in body
            assert f"the model `{model}` was not asked" in body
            assert f"`/finetune deploy {model}` makes one" in body  # how to deploy it
            assert f"`{model}` —" not in body  # no row for the model that was not asked
            # only the base's deployment was asked, never the bare model name; no grader
            paths = {c.path for c in azure.calls if c.path.startswith(AZURE_CHAT)}
            assert paths == {f"{AZURE_CHAT}base-mini/chat/completions"}
            assert len(azure.calls_to("POST", f"{AZURE_CHAT}base-mini/chat/completions")) == HELD
            assert openai.calls_to("POST", CHAT) == []
            wait_for(lambda: state(bot.services.engine, job_id) == "done", what="done")
        finally:
            bot.stop()
        assert not azure.errors, azure.errors


def on_demand(bot: Bot, openai: FakeOpenAI) -> tuple[str, EvalChat]:
    """`/finetune eval` of a fine-tuned model that gets every answer right (its base none)."""
    ready(bot, "sums.jsonl", content=questions(10))
    add_model(bot)
    openai.add_model(TUNED)
    chat = EvalChat(answers={TUNED: doubles, BASE: dont_know})
    openai.chat_responder = chat
    said = evaluate(bot, f"eval {TUNED} sums.jsonl")
    assert "scorecard is in the dataset's thread" in said, said
    return card_text(wait_for(lambda: scorecards(bot.slack), what="the scorecard")[0]), chat


def test_429_and_500_on_a_model_call_are_retried_and_the_scorecard_is_whole(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(slack, database_url, openai, FTBOT_EVAL_CONCURRENCY=1)
    try:
        # the first chat call answers 429, its retry 500, the next retry succeeds
        openai.fail_next("POST", CHAT, status=429, retry_after_ms=5)
        openai.fail_next("POST", CHAT, status=500, retry_after_ms=5)
        body, _ = on_demand(bot, openai)
        assert "normalised 100% (10/10) · exact 100% (10/10)" in body
        assert "win rate vs" in body and "10 graded" in body
        assert "Partial result" not in body and "no answer to" not in body
        calls = openai.calls_to("POST", CHAT)
        assert [c.status for c in calls[:3]] == [429, 500, 200]
        assert calls[0].json == calls[1].json == calls[2].json  # the same call, retried
        assert len(calls) == 3 * 10 + 2  # 2 models + the grader, plus the two retries
    finally:
        bot.stop()


def test_a_call_failing_past_the_retries_leaves_a_partial_scorecard(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(slack, database_url, openai, FTBOT_EVAL_CONCURRENCY=1)
    try:
        openai.fail_next("POST", CHAT, status=500, times=3, retry_after_ms=5)  # 1 + 2 retries
        body, chat = on_demand(bot, openai)
        assert "normalised 90% (9/10) · exact 90% (9/10)" in body
        assert "no answer to 1" in body
        assert "Partial result" in body and f"`{TUNED}` failed on 1 of 10 calls" in body
        assert "Traceback" not in body and "InternalServerError" not in body
        assert len(chat.grader_prompts) == 9  # no pair to grade where the model failed
        assert [c.status for c in openai.calls_to("POST", CHAT)[:4]] == [500, 500, 500, 200]
    finally:
        bot.stop()


def finish(bot: Bot, openai: FakeOpenAI, job_id: str, model: str) -> None:
    openai.add_model(model)
    openai.succeed(job_id, trained_tokens=10_000, fine_tuned_model=model)
    wait_for(lambda: settled(bot.services.engine, job_id), what="the job finished")


def test_the_start_form_holds_out_and_turns_the_scorecard_off(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot, "sums.jsonl", content=questions(30))
    assert bot.click(ids.DATASET_START, file["id"], trigger_id=bot.slack.new_trigger_id()) == 200
    view = wait_for(lambda: bot.slack.calls_to("views.open"), what="views.open")[0].response
    values = submission(BASE, holdout="20%", eval=select("off"))
    status, payload = bot.submit(
        START_CALLBACK, values, private_metadata=view["view"]["private_metadata"]
    )
    assert status == 200 and payload is None, payload
    (job_id,) = wait_for(lambda: list(openai.jobs), what="the job")
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    assert f"Holding out 20% = {HELD} examples for evaluation" in post["text"], post["text"]
    (create,) = creates(openai)
    assert len(openai.files[create.json["training_file"]].content.splitlines()) == 30 - HELD
    openai.chat_responder = EvalChat(answers={TUNED: doubles})
    finish(bot, openai, job_id, TUNED)
    assert state(bot.services.engine, job_id) == "off"
    assert not scorecards(bot.slack) and openai.calls_to("POST", CHAT) == []


def test_a_jobs_validation_file_is_its_held_out_data(bot: Bot, openai: FakeOpenAI) -> None:
    validation = ready(bot, "sums-val.jsonl", content=b"".join(questions(40).splitlines(True)[30:]))
    ready(bot, "sums.jsonl", content=questions(30))
    before = set(openai.jobs)
    _, answer = bot.command(f"start sums.jsonl validation={validation['id']}")
    assert "Starting fine-tuning" in answer["text"], answer
    (job_id,) = wait_for(lambda: set(openai.jobs) - before, what="the job")
    wait_for(lambda: posted(bot.services.engine, job_id), what="the job post")
    openai.chat_responder = EvalChat(answers={TUNED: doubles, BASE: dont_know})
    finish(bot, openai, job_id, TUNED)
    card = wait_for(lambda: scorecards(bot.slack), what="the scorecard")[0]
    body = card_text(card)
    assert "on `sums-val.jsonl`: 10 examples" in body  # the whole validation file
    assert "normalised 100% (10/10) · exact 100% (10/10)" in body and "(0/10)" in body
    asked = [c.json["messages"][-1]["content"] for c in openai.calls_to("POST", CHAT)]
    assert any("Question number 35" in q for q in asked)
    assert not any("Question number 5:" in q for q in asked)  # never the training data
