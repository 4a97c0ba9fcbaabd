"""Starting jobs on Together by command (issue 13): the backend chosen by `backend=` or by the
model, the data uploaded once, Together's own quote in the job post, the request mapped to
Together's fields, approval after a quote above the threshold, refusals by name before any
upload, and exactly one job after an ambiguous create."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import ephemerals, job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db

DEFAULT = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
QWEN = "Qwen/Qwen2.5-7B-Instruct"
CREATE = "/v1/fine-tunes"
ESTIMATE = "/v1/fine-tunes/estimate-price"


def together_bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether, **kw: Any
) -> Bot:
    return start_bot(
        slack, database_url, openai, TOGETHER_API_KEY="together-test-key",
        TOGETHER_BASE_URL=together.base_url, **kw,
    )  # fmt: skip


@pytest.fixture
def bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    running = together_bot(slack, database_url, openai, together, poll=True, FTBOT_POLL_SECONDS=0.2)
    yield running
    running.stop()


def creates(together: FakeTogether) -> list[Any]:
    return [c for c in together.calls_to("POST", CREATE) if c.status == 200]


def quotes(together: FakeTogether) -> list[Any]:
    return together.calls_to("POST", ESTIMATE)


def uploads(together: FakeTogether) -> list[Any]:
    return together.calls_to("POST", "/v1/files")


def test_backend_together_uploads_once_quotes_and_gates_cancel(
    bot: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    file = ready(bot)
    status, payload = bot.command(f"start {file['id']} backend=together", user="U5")
    assert status == 200, payload
    assert "Together AI will quote the price after the upload" in payload["text"], payload
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    (call,) = creates(together)
    assert call.json["model"] == DEFAULT
    job_id = next(iter(together.jobs))
    # Together's own quote (asked before creating; the SDK's create asks once more itself),
    # labelled as Together's, in the job post in the dataset's thread
    ours = quotes(together)[0]
    assert together.calls.index(ours) < together.calls.index(call)
    assert ours.json["training_file"] == call.json["training_file"]
    assert "Together AI's quote: $" in post["text"] and " tokens" in post["text"], post["text"]
    assert f"`{DEFAULT}` (Together AI) on `drone.jsonl`" in post["text"] and "<@U5>" in post["text"]
    assert post["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
    assert f'"value": "{job_id}"' in json.dumps(post["blocks"])
    assert openai.calls_to("POST", "/v1/files") == [] and openai.jobs == {}
    # the status message (the job post) is edited by the watcher
    wait_for(
        lambda: [c for c in bot.slack.calls_to("chat.update") if c.params.get("ts") == post["ts"]],
        what="the status message edited",
    )
    # the same dataset again: a second job, no second upload
    bot.command(f"start {file['id']} backend=together", user="U5")
    wait_for(lambda: len(creates(together)) == 2, what="the second job")
    assert len(uploads(together)) == 1
    assert creates(together)[1].json["training_file"] == call.json["training_file"]
    # pause is refused naming Together; cancel: not by another user, by the owner
    _, paused = bot.command(f"pause {job_id}", user="U5")
    assert "Together AI can't pause" in paused["text"], paused
    _, refused = bot.command(f"cancel {job_id}", user="U6")
    assert "can't" in refused["text"], refused
    assert together.calls_to("POST", f"/v1/fine-tunes/{job_id}/cancel") == []
    _, done = bot.command(f"cancel {job_id}", user="U5")
    assert done["text"].startswith(f"Cancelling `{job_id}`"), done
    assert len(together.calls_to("POST", f"/v1/fine-tunes/{job_id}/cancel")) == 1
    # Together stops it a moment later: one line in the thread says who, once
    line = f"⏹ `{job_id[:11]}` cancelled by <@U5>."
    wait_for(
        lambda: [m for m in bot.slack.messages("C1") if m.get("text") == line], what="the line"
    )
    wait_for(
        lambda: "Cancelled by <@U5>" in json.dumps(post_now(bot, post)["blocks"]),
        what="the status message",
    )
    assert [
        m.get("reply_broadcast") for m in bot.slack.messages("C1") if m.get("text") == line
    ] == [False]


def post_now(bot: Bot, post: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in bot.slack.messages("C1") if m["ts"] == post["ts"])


def test_model_lr_training_and_checkpoints_are_mapped(bot: Bot, together: FakeTogether) -> None:
    file = ready(bot)
    _, payload = bot.command(
        f"start {file['id']} model={QWEN} lr=0.00002 training=full checkpoints=3 epochs=2 "
        "suffix=drone seed=7"
    )
    assert "on Together" in payload["text"], payload
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    (call,) = creates(together)
    body = call.json
    assert body["model"] == QWEN and body["learning_rate"] == 2e-5
    assert body["n_checkpoints"] == 3 and body["n_epochs"] == 2 and body["random_seed"] == 7
    assert body["training_type"]["type"] == "Full"
    assert body["suffix"].startswith("drone-ftb")
    estimate = quotes(together)[0]
    assert estimate.json["training_type"] == {"type": "Full"} and estimate.json["n_epochs"] == 2
    assert "Together AI's quote" in post["text"] and "2 epochs" in post["text"]
    assert "learning rate 0.00002" in json.dumps(post["blocks"]), post["blocks"]


def test_refusals_name_what_was_refused_before_any_upload(
    bot: Bot, together: FakeTogether, openai: FakeOpenAI
) -> None:
    file = ready(bot)
    _, payload = bot.command(f"start {file['id']} model=acme/not-a-model")
    assert "is not a model Together AI fine-tunes" in payload["text"] and QWEN in payload["text"]
    _, payload = bot.command(f"start {file['id']} backend=openai training=full")
    assert "OpenAI has no `training=` option" in payload["text"], payload
    _, payload = bot.command(f"start {file['id']} backend=openai model={QWEN}")
    assert "is a Together AI model, not one of OpenAI's" in payload["text"], payload
    _, payload = bot.command(f"start {file['id']} backend=together lr=0.5")
    assert "absolute learning rate" in payload["text"], payload
    _, payload = bot.command(f"start {file['id']} backend=azure")
    assert "Azure OpenAI is not configured (AZURE_OPENAI_API_KEY is not set)" in payload["text"], (
        payload
    )
    _, payload = bot.command(f"start {file['id']} backend=fireworks")
    assert "`openai`, `together`, `azure`" in payload["text"], payload
    assert uploads(together) == [] and together.jobs == {}
    assert openai.calls_to("POST", "/v1/files") == []


def test_together_not_configured_is_named(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(slack, database_url, openai)
    try:
        file = ready(bot)
        _, payload = bot.command(f"start {file['id']} backend=together")
        assert "TOGETHER_API_KEY" in payload["text"], payload
        _, payload = bot.command(f"start {file['id']} model={QWEN}")
        assert "TOGETHER_API_KEY" in payload["text"], payload
        _, payload = bot.command(f"cost {file['id']} model={QWEN}")
        assert "Together AI quotes the price when the job starts" in payload["text"], payload
    finally:
        bot.stop()


def approval_key(message: dict[str, Any]) -> str:
    return next(
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.JOB_APPROVE
    )


def test_a_quote_above_the_threshold_waits_for_an_admin(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    slack.add_user("UADMIN")
    bot = together_bot(
        slack, database_url, openai, together, FTBOT_APPROVAL_USD=0.00001, FTBOT_ADMINS="UADMIN"
    )
    try:
        file = ready(bot)
        _, payload = bot.command(f"start {file['id']} backend=together", user="UREQ")
        assert "approval threshold" in payload["text"], payload
        request = wait_for(
            lambda: [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")],
            what="the approval request",
        )[0]
        assert "Together AI's quote: $" in request["text"], request["text"]
        assert request["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
        assert len(uploads(together)) == 1 and creates(together) == []
        assert len(quotes(together)) == 1
        key = approval_key(request)
        assert bot.click(ids.JOB_APPROVE, key, user="UREQ") == 200
        wait_for(lambda: ephemerals(slack), what="the requester's refusal")
        assert creates(together) == []
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        post = wait_for(lambda: job_posts(slack), what="the job post")[0]
        assert "<@UREQ>" in post["text"] and "Together AI's quote" in post["text"]
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        wait_for(
            lambda: any("already approved" in text for text in ephemerals(slack)),
            what="the second approval answered",
        )
        # created once, uploaded once, quoted once (plus the SDK's own look inside create)
        assert len(creates(together)) == 1 and len(uploads(together)) == 1
        assert len(quotes(together)) == 2
    finally:
        bot.stop()


def test_no_quote_does_not_stop_the_job_but_needs_approval_with_a_threshold(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    slack.add_user("UADMIN")
    bot = together_bot(
        slack, database_url, openai, together, FTBOT_APPROVAL_USD=100, FTBOT_ADMINS="UADMIN"
    )
    try:
        one = ready(bot, "one.jsonl")
        # a quote under the threshold: created at once
        bot.command(f"start {one['id']} backend=together")
        wait_for(lambda: len(creates(together)) == 1, what="the job under the threshold")
        # no quote (Together answers 500): the cost is unknown, so an admin approves first
        together.fail_next("POST", ESTIMATE, status=500, times=3)  # with the SDK's retries
        bot.command(f"start {one['id']} backend=together", user="UREQ")
        request = wait_for(
            lambda: [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")],
            what="the approval request",
        )[0]
        assert "Together AI gave no quote" in request["text"], request["text"]
        bot.click(ids.JOB_APPROVE, approval_key(request), user="UADMIN")
        wait_for(lambda: len(creates(together)) == 2, what="the approved job")
        posts = wait_for(lambda: len(job_posts(slack)) == 2 and job_posts(slack), what="posts")
        assert any("Together AI gave no quote" in p["text"] for p in posts)
        assert len(uploads(together)) == 1
    finally:
        bot.stop()


def test_no_quote_without_threshold_starts_and_says_so(bot: Bot, together: FakeTogether) -> None:
    file = ready(bot)
    together.fail_next("POST", ESTIMATE, status=500, times=3)  # with the SDK's retries
    bot.command(f"start {file['id']} backend=together")
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    assert "Together AI gave no quote" in post["text"], post["text"]
    assert len(creates(together)) == 1


def test_an_ambiguous_create_makes_exactly_one_job(bot: Bot, together: FakeTogether) -> None:
    file = ready(bot)
    together.fail_next("POST", CREATE, status=500, apply_then_fail=True, exact=True)
    bot.command(f"start {file['id']} backend=together")
    post = wait_for(lambda: job_posts(bot.slack), what="the job post")[0]
    assert len(together.jobs) == 1
    (job_id,) = together.jobs
    assert job_id in post["text"]
    assert len(together.calls_to("POST", CREATE)) == 1  # found by its key, not re-sent
    assert "ftb" in (together.jobs[job_id]["suffix"] or "")


def test_upload_only_goes_to_the_default_backend_and_names_it(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> None:
    bot = together_bot(slack, database_url, openai, together, FTBOT_DEFAULT_BACKEND="together")
    try:
        file = ready(bot)
        assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
        assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
        said = wait_for(
            lambda: (
                len(
                    texts := [
                        m for m in slack.messages("C1") if "uploaded" in (m.get("text") or "")
                    ]
                )
                == 2
                and texts
            ),
            what="both answers",
        )
        assert all("to Together AI: `file-" in m["text"] for m in said), said
        assert "backend=together" in said[0]["text"]
        assert len(uploads(together)) == 1 and openai.calls_to("POST", "/v1/files") == []
        # without a model, `start` goes to the default backend too, with the same upload
        _, payload = bot.command(f"start {file['id']}")
        assert "Together AI will quote" in payload["text"], payload
        wait_for(lambda: creates(together), what="the job")
        assert len(uploads(together)) == 1
    finally:
        bot.stop()
