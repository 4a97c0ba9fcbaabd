"""The checkpoint list and the loss chart after a job succeeds, end to end: badges, the list edited
in place when the owner or an admin chooses (anyone else is refused), `/finetune checkpoints`
showing the same list, `try` following the choice, and the chart titled by dataset and suffix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.e2e.test_models import ask
from tests.e2e.test_watch import checkpoint_list
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost

pytestmark = pytest.mark.db

VALID = {5: 0.9, 10: 0.5, 15: 0.7, 20: 0.8}  # step 10 is the best: later steps overfit


@pytest.fixture
def trained(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> Iterator[tuple[Bot, str, dict[str, Any]]]:
    """A 2-epoch job (suffix `acc`) on drone.jsonl with checkpoints at the end of each epoch."""
    slack.add_user("UADMIN")
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN"
    )
    ready(bot)
    bot.command("start latest epochs=2 suffix=acc", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = next(iter(openai.jobs))
    openai.advance_job(job_id, status="queued")
    openai.advance_job(job_id, status="running")
    for step in range(1, 21):
        openai.advance_job(
            job_id, step=step, total_steps=20, train_loss=2.0 / step, train_acc=0.5 + step / 60,
            valid_loss=VALID.get(step), valid_acc=0.6 if step in VALID else None,
        )  # fmt: skip
        if step in (10, 20):
            openai.add_checkpoint(job_id, step, {"full_valid_loss": VALID[step]})
    openai.succeed(job_id, trained_tokens=12_000)
    wait_for(lambda: bot.slack.uploaded_files, what="the chart")
    wait_for(lambda: checkpoint_list(bot, post), what="the checkpoint list")
    yield bot, openai.jobs[job_id]["fine_tuned_model"], post
    bot.stop()


def rows(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The list's rows by their first words (`Step 10`, `Final model`)."""
    found = {}
    for block in message["blocks"][1:]:
        text = (block.get("text") or {}).get("text") or ""
        if text.startswith("*"):
            found[text[1:].split("*")[0]] = block
    return found


def test_success_lists_checkpoints_with_badges_and_posts_a_titled_chart(
    trained: tuple[Bot, str, dict[str, Any]],
) -> None:
    bot, model, post = trained
    listed = rows(wait_for(lambda: checkpoint_list(bot, post), what="the list"))
    assert list(listed) == ["Step 10", "Step 20", "Final model"]
    step10, step20, final = (listed[k]["text"]["text"] for k in listed)
    assert step10.startswith("*Step 10* · epoch 1 of 2   ⭐ lowest validation loss\n")
    assert "validation loss 0.50" in step10 and f"`{model}:ckpt-step-10`" in step10
    assert step20.startswith("*Step 20* · epoch 2 of 2\n") and "validation loss 0.80" in step20
    assert final.startswith("*Final model* · step 20 · epoch 2 of 2   ✅ current\n")
    assert "training loss 0.10 · validation loss 0.80" in final  # the final figures
    assert "accessory" not in listed["Final model"]
    assert [listed[k]["accessory"]["value"] for k in ("Step 10", "Step 20")] == [
        f"{model}:ckpt-step-10",
        f"{model}:ckpt-step-20",
    ]
    (chart,) = bot.slack.uploaded_files
    assert chart.title == "Loss chart · drone.jsonl · acc"
    assert chart.filename.startswith("drone.jsonl-acc-loss-") and chart.filename.endswith(".png")
    assert "job:" not in chart.title + chart.filename
    assert "drone.jsonl · acc" in (chart.initial_comment or "")


def test_a_choice_edits_the_list_in_place_and_try_follows_it(
    trained: tuple[Bot, str, dict[str, Any]], openai: FakeOpenAI
) -> None:
    bot, model, post = trained
    listed = wait_for(lambda: checkpoint_list(bot, post), what="the list")
    step10, step20 = f"{model}:ckpt-step-10", f"{model}:ckpt-step-20"
    # someone else: refused, nothing changes
    bot.click(ids.CHECKPOINT_CHOOSE, step10, user="UOTHER")
    refusal = wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"), what="refusal")[0]
    assert "only its owner" in refusal.params["text"]
    assert bot.services.inspector._models.get(model).chosen is None
    assert not [c for c in bot.slack.calls_to("chat.update") if c.params["ts"] == listed["ts"]]
    # the owner picks step 10: the same message now shows it current, chosen by them
    bot.click(ids.CHECKPOINT_CHOOSE, step10, user="UOWNER", message_ts=listed["ts"])
    wait_for(lambda: "chosen by <@UOWNER>" in json.dumps(checkpoint_list(bot, post)), what="edit")
    edited = wait_for(lambda: checkpoint_list(bot, post), what="the list")
    assert edited["ts"] == listed["ts"] and edited["edit_count"] == 1
    now = rows(edited)
    assert now["Step 10"]["text"]["text"].startswith(
        "*Step 10* · epoch 1 of 2   ✅ current (chosen by <@UOWNER>)   ⭐ lowest validation loss"
    )
    assert "accessory" not in now["Step 10"]
    assert now["Final model"]["accessory"]["value"] == model
    assert "current" not in now["Final model"]["text"]["text"]
    assert len(bot.slack.calls_to("chat.postEphemeral")) == 1  # the edit is the answer
    openai.chat_responder = lambda request: f"answer from {request['model']}"
    assert ask(bot, "try hello")["text"].startswith(f"{step10}: answer from {step10}")
    # an admin's later change shows in `/finetune checkpoints`, and choosing from that
    # ephemeral list edits both it and the thread's list
    job_id = next(iter(openai.jobs))
    _, answer = bot.command(f"checkpoints {job_id}", user="UADMIN")
    assert "chosen by <@UOWNER>" in json.dumps(answer["blocks"])
    with RecordingHost() as hooks:
        bot.click(
            ids.CHECKPOINT_CHOOSE, step20, user="UADMIN", ephemeral=True,
            response_url=hooks.url("/actions/T1/1/x"),
        )  # fmt: skip
        replaced = json.loads(wait_for(lambda: hooks.requests, what="the ephemeral list")[0].body)
    assert replaced["replace_original"] is True
    assert rows(replaced)["Step 20"]["text"]["text"].startswith(
        "*Step 20* · epoch 2 of 2   ✅ current (chosen by <@UADMIN>)"
    )
    wait_for(lambda: "chosen by <@UADMIN>" in json.dumps(checkpoint_list(bot, post)), what="edit")
    _, answer = bot.command(f"checkpoints {job_id[:12]}", user="U1")
    again = rows(answer)
    assert again["Step 20"]["text"]["text"].startswith("*Step 20* · epoch 2 of 2   ✅ current")
    assert "accessory" in again["Step 10"] and "accessory" in again["Final model"]
    assert ask(bot, "try hello")["text"].startswith(f"{step20}:")
