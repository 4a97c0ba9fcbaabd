"""Listings you can act on (issue 15 point 9): a `jobs` row names its dataset, links to the
job's thread and has a menu (Status, Cancel, Chart) re-checked like the commands; `status` of a
failed job shows the error and what to do; the Home tab has Start, Try and Cancel buttons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import ids
from handlers.blocks.listing import TRY_PROMPT_ACTION, TRY_PROMPT_BLOCK
from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.signing import app_home_opened_event
from tests.fakes.slack_state import WORKSPACE_URL
from tests.inert import check_payload, check_sent

pytestmark = pytest.mark.db

USERS = ("U1", "UOWNER", "UADMIN")


def start_job(bot: Bot, openai: FakeOpenAI, **options: Any) -> tuple[str, dict[str, Any]]:
    """A job UOWNER started on sports.jsonl in C1, running at step 3 of 10."""
    ready(bot, "sports.jsonl", user="UOWNER")
    words = " ".join(f"{k}={v}" for k, v in options.items())
    bot.command(f"start latest {words}", user="UOWNER")
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    job_id = wait_for(lambda: list(openai.jobs), what="the job at OpenAI")[0]
    return job_id, post


def stored(bot: Bot, job_id: str, status: str) -> bool:
    job = bot.services.jobs._jobs.by_remote_id(backend="openai", remote_id=job_id)
    return job is not None and job.status == status


def jobs(bot: Bot) -> dict[str, Any]:
    status, answer = bot.command("jobs", user="U1")
    assert status == 200, answer
    return dict(answer)


def ephemerals_to(bot: Bot, user: str, since: int) -> list[dict[str, Any]]:
    calls = bot.slack.calls_to("chat.postEphemeral")[since:]
    return [c.params for c in calls if c.params.get("user") == user]


def menu(bot: Bot, action: str, job_id: str, *, user: str, since: int) -> dict[str, Any]:
    """Choose `action` in a `jobs` row's menu as `user`; the ephemeral answer they get."""
    value = json.dumps({"a": action, "j": job_id})
    assert bot.click(ids.JOB_MENU, value, user=user, overflow=True) == 200
    return wait_for(lambda: ephemerals_to(bot, user, since), what=f"{action} answer")[0]


def blocks_text(params: dict[str, Any]) -> str:
    blocks = params.get("blocks") or []
    return json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks, ensure_ascii=False)


def test_jobs_rows_link_their_thread_and_their_menu_rechecks_access(
    watching: Bot, openai: FakeOpenAI
) -> None:
    bot = watching
    job_id, post = start_job(bot, openai, epochs=3, seed=42, suffix="acc")
    openai.advance_job(job_id, status="running")
    openai.advance_job(job_id, step=3, total_steps=10, train_loss=1.25)
    wait_for(
        lambda: stored(bot, job_id, "running") and "30% (3/10" in json.dumps(jobs(bot)),
        what="the job running at step 3",
    )

    # the row: dataset, state, model, owner, a link to the job's status message in its thread
    answer = jobs(bot)
    assert check_payload(answer, users=USERS, channels=("C1",)) >= 1
    (row,) = [b for b in answer["blocks"] if job_id in json.dumps(b)]
    text = row["text"]["text"]
    assert text.startswith("*sports.jsonl* · *running* · `gpt-4o-mini-2024-07-18` · OpenAI")
    thread_ts = post["thread_ts"]
    job = bot.services.jobs._jobs.by_remote_id(backend="openai", remote_id=job_id)
    assert job is not None and job.status_ts
    link = f"{WORKSPACE_URL}archives/C1/p{job.status_ts.replace('.', '')}"
    assert f"<@UOWNER> · <{link}?thread_ts={thread_ts}&amp;cid=C1|thread> in <#C1>" in text
    assert "30% (3/10 steps)" in text
    options = row["accessory"]["options"]
    assert row["accessory"]["action_id"] == ids.JOB_MENU
    assert [o["text"]["text"] for o in options] == ["Status", "Cancel", "Chart"]

    # Status: ephemeral, everything the dashboard shows
    shown = blocks_text(menu(bot, "status", job_id, user="U1", since=0))
    for part in (
        "Supervised (SFT) · 3 epochs",
        "seed 42 · suffix `acc`",
        "training: *sports.jsonl* `file-",
        "epoch 1 of 3",
        "training loss 1.25",
        f"<https://platform.openai.com/finetune/{job_id}|Open on OpenAI>",
    ):
        assert part in shown, part

    # Cancel by someone who does not own the job: refused, nothing sent to OpenAI
    before = len(bot.slack.calls_to("chat.postEphemeral"))
    refusal = menu(bot, "cancel", job_id, user="U1", since=before)
    assert refusal["text"].startswith("You can't do that:"), refusal
    assert not openai.calls_to("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel")
    # a job that does not exist, and a menu value the bot never made
    before = len(bot.slack.calls_to("chat.postEphemeral"))
    unknown = menu(bot, "status", "ftjob-nope", user="U1", since=before)["text"]
    assert unknown.startswith("No job matches")
    forged = json.dumps({"a": "delete", "j": job_id})
    assert bot.click(ids.JOB_MENU, forged, user="U1", overflow=True) == 200
    assert not openai.calls_to("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel")

    # the owner cancels from the menu
    before = len(bot.slack.calls_to("chat.postEphemeral"))
    menu(bot, "cancel", job_id, user="UOWNER", since=before)
    wait_for(lambda: openai.jobs[job_id]["status"] == "cancelled", what="cancelled at OpenAI")
    assert check_sent(bot.slack, users=USERS, channels=("C1",)) > 0


def test_status_of_a_failed_job_shows_the_error_and_what_to_do(
    watching: Bot, openai: FakeOpenAI
) -> None:
    bot = watching
    job_id, _ = start_job(bot, openai)
    openai.fail(job_id, "invalid_training_file", "Training file has <!here> a bad line 17")
    wait_for(lambda: stored(bot, job_id, "failed"), what="the failure stored")
    status, answer = bot.command(f"status {job_id}", user="U1")
    assert status == 200 and check_payload(answer, users=USERS, channels=("C1",)) >= 1
    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "*Status:* ❌ failed" in shown
    assert (
        "*Error* (`invalid_training_file`): Training file has &lt;!here&gt; a bad line 17" in shown
    )
    assert "*What to do:* fix the dataset" in shown
    assert "finished <!date^" in shown and "trained tokens —" in shown


def home(bot: Bot, user: str, since: int = 0) -> dict[str, Any]:
    call = wait_for(
        lambda: [c for c in bot.slack.calls_to("views.publish")[since:]
                 if c.params["user_id"] == user],
        what=f"{user}'s Home tab",
    )[-1]  # fmt: skip
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert check_payload(view, users=USERS, channels=("C1",)) >= 1
    return view


def buttons(view: dict[str, Any]) -> dict[str, list[str]]:
    """action id -> the values of its buttons in the view."""
    found: dict[str, list[str]] = {}
    for block in view["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            found.setdefault(accessory["action_id"], []).append(accessory["value"])
    return found


def test_home_tab_has_start_try_and_cancel_buttons(watching: Bot, openai: FakeOpenAI) -> None:
    bot = watching
    first, _ = start_job(bot, openai)
    openai.advance_job(first, status="running")
    openai.succeed(first, trained_tokens=1_000)
    model = wait_for(lambda: bot.services.models._models.listing(), what="the model stored")[0].name
    bot.command("start latest", user="UOWNER")
    second = wait_for(lambda: [j for j in openai.jobs if j != first], what="second job")[0]
    openai.advance_job(second, status="running")
    wait_for(lambda: stored(bot, second, "running"), what="second job running")

    assert bot.event(app_home_opened_event("UOWNER")) == 200
    view = home(bot, "UOWNER")
    found = buttons(view)
    assert found[ids.HOME_JOB_CANCEL] == [second]  # only the running job
    assert first not in json.dumps(view)  # a finished job is not under *Running jobs*
    assert found[ids.HOME_MODEL_TRY] == [model]
    file_id = bot.services.datasets._repo.by_uploader(uploader_id="UOWNER", limit=5)[
        0
    ].slack_file_id
    assert found[ids.DATASET_START] == [file_id]
    shown = json.dumps(view, ensure_ascii=False)
    assert "Commands to try" not in shown and shown.count("/finetune") == 1

    # Start opens the start form for that dataset, as the report's button does
    assert bot.click(ids.DATASET_START, file_id, user="UOWNER", view={"id": "VHOME"}) == 200
    form = wait_for(lambda: bot.slack.calls_to("views.open"), what="start form")[0]
    assert "sports.jsonl" in json.dumps(form.params["view"])

    # Cancel from Home: the job is cancelled and the tab says so
    before = len(bot.slack.calls_to("views.publish"))
    assert bot.click(ids.HOME_JOB_CANCEL, second, user="UOWNER", view={"id": "VHOME"}) == 200
    wait_for(lambda: openai.jobs[second]["status"] == "cancelled", what="cancelled at OpenAI")
    notice = home(bot, "UOWNER", since=before)["blocks"][1]["elements"][0]["text"]
    assert second in notice

    # Try from Home: a prompt form, then the model's answer in it
    opened = len(bot.slack.calls_to("views.open"))
    assert bot.click(ids.HOME_MODEL_TRY, model, user="UOWNER", view={"id": "VHOME"}) == 200
    form = wait_for(lambda: bot.slack.calls_to("views.open")[opened:], what="try form")[0]
    view_id = form.response["view"]["id"]
    status, ack = bot.submit(
        ids.TRY_CALLBACK,
        {TRY_PROMPT_BLOCK: {TRY_PROMPT_ACTION: "How far can a drone fly?"}},
        user="UOWNER",
        view_id=view_id,
        private_metadata=json.dumps({"m": model}),
    )
    assert status == 200 and ack["response_action"] == "update"
    answered = wait_for(lambda: bot.slack.calls_to("views.update"), what="the answer")[0]
    assert "How far can a drone fly?" in json.dumps(answered.params["view"], ensure_ascii=False)
    assert check_sent(bot.slack, users=USERS, channels=("C1",)) > 0
