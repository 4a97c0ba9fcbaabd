"""Access follows Slack's channels (product §6), tried as a hostile teammate would.

A private channel G1 (members: UIN and the bot) holds UIN's dataset, job and model. UOUT, who is
not a member, tries every path from C1, a DM, a mention, buttons and forms; nothing about the
private things may come back or be posted anywhere, and they answer like missing things.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from handlers import ids
from handlers.blocks.jobs import START_CALLBACK
from tests.conftest import shared
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_jobs import creates, job_posts
from tests.e2e.test_models import ask
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.signing import (
    app_home_opened_event,
    app_mention_event,
    dm_message_event,
    file_share_message_event,
    file_shared_event,
)

pytestmark = pytest.mark.db

PRIVATE, PUBLIC = "G1", "C1"


@dataclass
class World:
    bot: Bot
    openai: FakeOpenAI
    file_id: str
    job_id: str
    model: str
    openai_file: str


def share(bot: Bot, channel: str, user: str, name: str, content: bytes) -> dict[str, Any]:
    """A file shared in `channel` by `user`, reported (reaction on the share)."""
    file = bot.slack.add_file(content, name=name, channel=channel, user=user)
    shares = file["shares"].get("private") or file["shares"]["public"]
    ts = shares[channel][0]["ts"]
    assert bot.event(file_share_message_event(file, channel, user, ts)) == 200
    assert bot.event(file_shared_event(file["id"], channel, user)) == 200
    wait_for(lambda: "white_check_mark" in bot.slack.reactions(channel, ts), what="report")
    return file


@pytest.fixture
def world(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[World]:
    for user in ("UIN", "UOUT", "UADMIN"):
        slack.add_user(user)
    slack.add_channel(PRIVATE, name="secret", members=["UIN", slack.bot_user_id])
    slack.add_channel(PUBLIC)  # open: everyone the fake knows
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN"
    )
    try:
        file = share(
            bot, PRIVATE, "UIN", "secret.jsonl", shared("drone_training.jsonl").read_bytes()
        )
        _, payload = bot.command(f"start {file['id']}", user="UIN", channel=PRIVATE)
        assert "Starting fine-tuning" in payload["text"], payload
        wait_for(lambda: job_posts(slack, PRIVATE), what="job post in the private channel")
        job_id = next(iter(openai.jobs))
        for step in range(1, 11):
            openai.advance_job(job_id, step=step, total_steps=10, train_loss=1.0 / step)
        openai.add_checkpoint(job_id, 5, {"valid_loss": 0.5})
        openai.succeed(job_id, trained_tokens=5000)
        wait_for(
            lambda: ids.CHECKPOINT_CHOOSE in json.dumps(slack.messages(PRIVATE)),
            what="checkpoints",
        )
        model = openai.jobs[job_id]["fine_tuned_model"]
        openai_file = openai.jobs[job_id]["training_file"]
        yield World(bot, openai, file["id"], job_id, model, openai_file)
    finally:
        bot.stop()


def everything_said(slack: FakeSlack) -> str:
    """Every text the bot sent anywhere (messages, edits, ephemerals, views)."""
    return json.dumps([c.params for c in slack.calls], default=str)


def posts(slack: FakeSlack, since: int) -> list[Any]:
    """Calls that put something in front of people, after the first `since` calls."""
    return [c for c in slack.calls[since:] if c.method.startswith(("chat.", "files.", "views."))]


def unnamed(world: World) -> list[str]:
    """What the outsider never typed: none of it may come back."""
    return ["secret.jsonl", world.openai_file]


def secrets_of(world: World) -> list[str]:
    return [world.file_id, world.job_id, world.model, world.openai_file, "secret.jsonl"]


def test_commands_from_outside_answer_as_if_nothing_existed(world: World) -> None:
    bot, slack, openai = world.bot, world.bot.slack, world.openai
    private_before = len(slack.messages(PRIVATE))
    jobs_before = len(creates(openai))
    openai_calls_before = len(openai.calls)
    said_before = len(slack.calls)

    # the answer for something invisible equals the answer for something missing
    _, hidden = bot.command(f"status {world.job_id}", user="UOUT")
    _, missing = bot.command("status ftjob-doesnotexist", user="UOUT")
    assert hidden["text"].replace(world.job_id, "X") == missing["text"].replace(
        "ftjob-doesnotexist", "X"
    )
    # naming the private things in any way: a "not found" answer
    not_found = ("can't find", "No job matches", "I don't know a model")
    for text in (
        f"start {world.file_id}",
        f"start {world.openai_file}",
        "start secret.jsonl",
        "start latest",
        f"cost {world.file_id}",
        f"cost {world.openai_file}",
        f"events {world.job_id}",
        f"checkpoints {world.job_id}",
        f"chart {world.job_id}",
        "status ftjob-",
        "events ftjob",
        f"cancel {world.job_id}",
        f"pause {world.job_id[:10]}",
        f"resume {world.job_id}",
        f"delete-model {world.model}",
    ):
        status, payload = bot.command(text, user="UOUT", channel=PUBLIC)
        assert status == 200 and any(n in payload["text"] for n in not_found), (text, payload)
    own = share(bot, PUBLIC, "UOUT", "mine.jsonl", shared("drone_training.jsonl").read_bytes())
    _, payload = bot.command(f"start {own['id']} validation={world.file_id}", user="UOUT")
    assert "can't find" in payload["text"] and world.file_id in payload["text"]
    for text in (f"try {world.model} hi", f"try {world.model}:ckpt-step-5 hi",
                 f"compare {world.model}", f"compare {world.model} {world.file_id}",
                 f"compare ft:gpt-4o-mini-2024-07-18:org::other {world.file_id}"):  # fmt: skip
        answer = json.dumps(ask(bot, text, user="UOUT", channel=PUBLIC))
        assert any(n in answer for n in not_found), (text, answer)
    _, payload = bot.command(f"status {world.job_id}", user="UOUT", channel="DOUT")
    assert "No job matches" in payload["text"]
    # listings: none of it
    listings = [json.dumps(bot.command(text, user="UOUT", channel=PUBLIC)[1])
                for text in ("jobs all", "jobs mine", "jobs", "models", "usage", "datasets")]  # fmt: skip
    for secret in secrets_of(world):
        assert secret not in "\n".join(listings), secret
    assert f"<#{PRIVATE}>" not in "\n".join(listings)
    assert len(slack.messages(PRIVATE)) == private_before  # nothing posted there
    assert len(creates(openai)) == jobs_before  # nothing trained
    # no provider call was made on the private things' behalf
    touched = [c.path for c in openai.calls[openai_calls_before:]]
    assert not [p for p in touched if world.job_id in p or world.model in p], touched
    assert not [c for c in posts(slack, said_before) if c.params.get("channel") == PRIVATE]


def test_members_and_admins_still_see_and_use_it(world: World) -> None:
    bot = world.bot
    _, payload = bot.command(f"status {world.job_id}", user="UIN", channel=PRIVATE)
    assert world.job_id in json.dumps(payload)
    _, payload = bot.command("jobs all", user="UADMIN", channel=PUBLIC)
    assert world.job_id in json.dumps(payload) and f"<#{PRIVATE}>" in json.dumps(payload)
    _, payload = bot.command("models", user="UIN", channel=PUBLIC)
    assert world.model in json.dumps(payload)
    _, payload = bot.command(f"cost {world.file_id}", user="UIN", channel=PUBLIC)
    assert "secret.jsonl" in json.dumps(payload)
    assert world.model in json.dumps(ask(bot, f"try {world.model} hi", user="UIN", channel=PUBLIC))


def test_hand_made_clicks_and_forms_are_rechecked(world: World) -> None:
    bot, slack, openai = world.bot, world.bot.slack, world.openai
    private_before = len(slack.messages(PRIVATE))
    calls_before = len(openai.calls)
    said_before = len(slack.calls)
    with RecordingHost() as hooks:
        more = json.dumps({"k": "datasets", "s": PRIVATE, "o": 0})
        bot.click(ids.LIST_MORE, more, user="UOUT", response_url=hooks.url("/actions/T1/1/x"))
        wait_for(lambda: hooks.requests, what="the listing page")
        assert "secret.jsonl" not in hooks.requests[-1].body.decode()
    for action, value in (
        (ids.DATASET_START, world.file_id),
        (ids.DATASET_UPLOAD, world.file_id),
        (ids.JOB_CANCEL, world.job_id),
        (ids.CHECKPOINT_CHOOSE, world.model),
        (ids.MODEL_DELETE, world.model),
    ):
        before = len(slack.calls_to("chat.postEphemeral"))
        assert bot.click(action, value, user="UOUT") == 200
        wait_for(lambda n=before: len(slack.calls_to("chat.postEphemeral")) > n, what=action)
    forged = json.dumps({"u": "UOUT", "c": PRIVATE, "t": "datasets"})
    with RecordingHost() as hooks:
        bot.click(ids.CONFIRM_COMMAND, forged, user="UOUT", response_url=hooks.url("/a/T1/1/x"))
        refusal = wait_for(lambda: hooks.requests, what="confirm refusal")[0]
    assert "no longer valid" in json.loads(refusal.body)["text"]
    status, payload = bot.submit(
        START_CALLBACK, {}, user="UOUT", private_metadata=json.dumps({"dataset": world.file_id})
    )
    assert status == 200 and payload["response_action"] == "errors"
    assert slack.calls_to("views.open") == []
    said = json.dumps([c.params for c in posts(slack, said_before)], default=str)
    for secret in unnamed(world):
        assert secret not in said, secret
    assert len(slack.messages(PRIVATE)) == private_before
    assert [c.path for c in openai.calls[calls_before:]] == []
    assert bot.services.inspector._models.get(world.model).chosen is None


def test_a_checkpoint_choice_must_be_one_the_job_made(world: World) -> None:
    bot, slack = world.bot, world.bot.slack
    with RecordingHost() as hooks:
        for bogus in (f"{world.model}:ckpt-step-999", "gpt-4o-2024-08-06", "<!channel>", ""):
            before = len(slack.calls_to("chat.postEphemeral")) + len(hooks.requests)
            bot.click(
                ids.CHECKPOINT_CHOOSE, bogus, user="UIN", channel=PRIVATE,
                response_url=hooks.url("/a/T1/2/x"),
            )  # fmt: skip
            wait_for(
                lambda n=before: (
                    len(slack.calls_to("chat.postEphemeral")) + len(hooks.requests) > n
                ),
                what="refusal",
            )
            assert bot.services.inspector._models.get(world.model).chosen is None
    good = f"{world.model}:ckpt-step-5"
    bot.click(ids.CHECKPOINT_CHOOSE, good, user="UIN", channel=PRIVATE)
    wait_for(lambda: bot.services.inspector._models.get(world.model).chosen == good, what="choice")


def test_mentions_answer_only_with_the_conversations_own_things(world: World) -> None:
    bot, slack = world.bot, world.bot.slack
    # UIN may see the job, but a mention in C1 is answered in front of all of C1
    for user, channel, event in (
        ("UIN", PUBLIC, app_mention_event(f"<@UBOT> status {world.job_id}", user="UIN")),
        ("UOUT", PUBLIC, app_mention_event("<@UBOT> models", user="UOUT")),
        ("UOUT", "DOUT", dm_message_event(f"status {world.job_id}", user="UOUT", channel="DOUT")),
    ):
        before = len(slack.messages(channel))
        assert bot.event(event) == 200
        wait_for(lambda c=channel, n=before: len(slack.messages(c)) > n, what=f"answer to {user}")
    said = json.dumps([slack.messages(PUBLIC), slack.messages("DOUT")])
    for secret in [*unnamed(world), world.model]:
        assert secret not in said, secret
    answers = [m for m in [*slack.messages(PUBLIC), *slack.messages("DOUT")] if m.get("bot_id")]
    assert sum("No job matches" in (m.get("text") or "") for m in answers) == 2
    # in the private channel itself, the member gets the answer
    before = len(slack.messages(PRIVATE))
    bot.event(app_mention_event(f"<@UBOT> status {world.job_id}", user="UIN", channel=PRIVATE))
    wait_for(lambda: len(slack.messages(PRIVATE)) > before, what="the answer in G1")
    assert world.job_id in json.dumps(slack.messages(PRIVATE)[before:])


def test_the_home_tab_shows_only_what_the_user_may_see(world: World) -> None:
    bot, slack = world.bot, world.bot.slack
    bot.event(app_home_opened_event("UOUT", channel="DOUT"))
    bot.event(app_home_opened_event("UIN", channel="DIN"))
    wait_for(lambda: {"UOUT", "UIN"} <= set(slack.home_views), what="both home tabs")
    assert "secret.jsonl" not in json.dumps(slack.home_views["UOUT"])
    assert world.model not in json.dumps(slack.home_views["UOUT"])
    assert world.model in json.dumps(slack.home_views["UIN"])
