"""After training: listings, try, delete-model, usage and the Home tab, end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.jobs import JobState
from handlers import ids
from storage.jobs import NewJob
from tests.e2e.conftest import SECRET, Bot, start_bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.e2e.test_watch import run_job, thread
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.foreign_host import RecordingHost
from tests.fakes.signing import app_home_opened_event, command_request

pytestmark = pytest.mark.db


@pytest.fixture
def trained(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> Iterator[tuple[Bot, str]]:
    slack.add_user("UADMIN")
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN"
    )
    job_id, post = run_job(bot, openai, steps=20)
    wait_for(
        lambda: [
            m
            for m in thread(bot, post)
            if ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or [])
        ],
        what="checkpoints",
    )
    yield bot, openai.jobs[job_id]["fine_tuned_model"]
    bot.stop()


def ask(bot: Bot, text: str, *, user: str = "U1", channel: str = "C1") -> dict[str, Any]:
    """Run a slow command and return what it sent to its response_url."""
    bot.slack.ensure_user(user)
    with RecordingHost() as hooks:
        body, headers = command_request(
            text=text, secret=SECRET, user_id=user, channel_id=channel,
            response_url=hooks.url("/commands/T1/1/x"),
        )  # fmt: skip
        status, payload = bot.send(body, headers)
        first = json.loads(payload)["text"]
        assert status == 200 and first.startswith(("Asking", "Comparing")), first
        request = wait_for(
            lambda: [
                r for r in hooks.requests if not json.loads(r.body)["text"].startswith("Comparing")
            ],
            what="the answer",
        )[-1]
    answer: dict[str, Any] = json.loads(request.body)
    answer["_ack"] = first  # the immediate answer ("Asking `model`…")
    return answer


def test_try_uses_the_chosen_checkpoint(trained: tuple[Bot, str], openai: FakeOpenAI) -> None:
    bot, model = trained
    openai.chat_responder = lambda request: f"answer from {request['model']}"
    # no choice yet: the channel's latest model
    answer = ask(bot, "try What's the weather like?")
    assert answer["text"].startswith(f"{model}: answer from {model}")
    assert answer["_ack"] == f"Asking `{model}`…"  # the model by name, not a placeholder
    sent = openai.calls_to("POST", "/v1/chat/completions")[-1].json
    assert sent["messages"] == [{"role": "user", "content": "What's the weather like?"}]
    # the owner picks step 10; later an admin picks step 20: try follows
    bot.click(ids.CHECKPOINT_CHOOSE, f"{model}:ckpt-step-10", user="UOWNER")
    wait_for(
        lambda: bot.services.inspector._models.listing()[0].chosen == f"{model}:ckpt-step-10",
        what="choice",
    )
    chosen = ask(bot, "try hello")
    assert chosen["text"].startswith(f"{model}:ckpt-step-10:")
    assert chosen["_ack"] == f"Asking `{model}:ckpt-step-10`…"
    bot.click(ids.CHECKPOINT_CHOOSE, f"{model}:ckpt-step-20", user="UADMIN")
    wait_for(
        lambda: bot.services.inspector._models.listing()[0].chosen == f"{model}:ckpt-step-20",
        what="choice",
    )
    assert (
        openai.calls_to("POST", "/v1/chat/completions")[-1].json["model"] != f"{model}:ckpt-step-20"
    )
    assert ask(bot, "try hello")["text"].startswith(f"{model}:ckpt-step-20:")
    assert (
        openai.calls_to("POST", "/v1/chat/completions")[-1].json["model"] == f"{model}:ckpt-step-20"
    )
    # an explicit model, and one that does not exist
    assert ask(bot, f"try {model} hi")["text"].startswith(f"{model}:")
    gone = ask(bot, "try ft:gpt-4o-mini-2024-07-18:org::gone hi")
    assert "can't answer" in gone["text"]


def test_listings_show_owners_and_statuses(trained: tuple[Bot, str], openai: FakeOpenAI) -> None:
    bot, model = trained
    _, payload = bot.command("jobs")
    text = json.dumps(payload)
    assert "succeeded" in text and "<@UOWNER>" in text and "gpt-4o-mini-2024-07-18" in text
    _, mine = bot.command("jobs mine", user="UOWNER")
    _, others = bot.command("jobs mine", user="USOMEONE")
    assert "succeeded" in json.dumps(mine) and "none yet" in json.dumps(others)
    _, elsewhere = bot.command("jobs", channel="C9")
    _, everything = bot.command("jobs all", channel="C9")
    assert "none yet" in json.dumps(elsewhere) and "<@UOWNER>" in json.dumps(everything)
    _, models = bot.command("models")
    assert model in json.dumps(models) and "<@UOWNER>" in json.dumps(models)


def test_delete_model_needs_the_owner_or_an_admin_and_a_confirmation(
    trained: tuple[Bot, str], openai: FakeOpenAI
) -> None:
    bot, model = trained
    _, refused = bot.command(f"delete-model {model}", user="USOMEONE")
    assert "only its owner" in refused["text"]
    bot.click(ids.MODEL_DELETE, model, user="USOMEONE")
    wait_for(lambda: bot.slack.calls_to("chat.postEphemeral"), what="refusal")
    assert openai.calls_to("DELETE", f"/v1/models/{model}") == []
    _, confirm = bot.command(f"delete-model {model}", user="UOWNER")
    assert ids.MODEL_DELETE in json.dumps(confirm["blocks"])
    assert openai.calls_to("DELETE", f"/v1/models/{model}") == []  # not before the click
    bot.click(ids.MODEL_DELETE, model, user="UOWNER")
    wait_for(lambda: openai.calls_to("DELETE", f"/v1/models/{model}"), what="delete")
    wait_for(lambda: bot.services.inspector._models.listing() == [], what="recorded")
    wait_for(
        lambda: any(
            f"deleted the model `{model}`" in (m.get("text") or "")
            for m in bot.slack.messages("C1")
        ),
        what="the deletion said in the channel",
    )
    assert "was deleted" in ask(bot, f"try {model} hi")["text"]


def test_usage_sums_estimates_and_actuals(trained: tuple[Bot, str], openai: FakeOpenAI) -> None:
    bot, _ = trained
    job = bot.services.jobs._jobs.listing()[0]
    _, payload = bot.command("usage")
    text = json.dumps(payload)
    assert "<@UOWNER>" in text and "<#C1>" in text
    assert f"${job.estimated_cost_usd:,.2f}" in text
    assert "actual $0.52 (173,148 trained tokens)" in text  # trained tokens × $3/1M
    # one job by one user in one channel on one backend: one line, not the same line six times
    (summary,) = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert summary.startswith("*Fine-tuning usage* · OpenAI · <@UOWNER> · <#C1>\n")
    assert summary.count("\n") == 1 and summary.count("actual") == 1


def test_home_tab_shows_running_jobs(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    bot = start_bot(slack, database_url, openai)
    try:
        ready(bot, user="UHOME")
        bot.command("start latest", user="UHOME")
        wait_for(lambda: job_posts(slack), what="job post")
        assert bot.event(app_home_opened_event("UHOME")) == 200
        call = wait_for(lambda: slack.calls_to("views.publish"), what="views.publish")[0]
        assert call.params["user_id"] == "UHOME"
        view = json.dumps(call.params["view"])
        assert next(iter(openai.jobs)) in view and "drone.jsonl" in view and "/finetune" in view
    finally:
        bot.stop()


def test_compare_reports_match_rates_from_the_answers(
    trained: tuple[Bot, str], openai: FakeOpenAI
) -> None:
    import re

    from tests.conftest import DATA
    from tests.e2e.test_jobs import ready as ready_dataset

    bot, model = trained
    ready_dataset(bot, "heldout.jsonl", content=(DATA / "bom.jsonl").read_bytes())

    def responder(request: dict[str, Any]) -> str:
        question = request["messages"][-1]["content"]
        n = int(re.search(r"number (\d+)", question).group(1))
        if request["model"] != model:
            return "I don't know."
        # exact for even questions, right but differently written for odd ones
        return f"The answer is {2 * n}." if n % 2 == 0 else f"the answer is {2 * n}"

    openai.chat_responder = responder
    result = ask(bot, f"compare {model} heldout.jsonl n=6")
    text = json.dumps(result, ensure_ascii=False)
    assert "exact match: fine-tuned 3/6 (50%) · base 0/6 (0%)" in text
    assert "normalised match: fine-tuned 6/6 (100%) · base 0/6 (0%)" in text
    assert "tokens:" in text and "gpt-4o-mini-2024-07-18" in text
    calls = openai.calls_to("POST", "/v1/chat/completions")
    assert sorted({c.json["model"] for c in calls}) == sorted({model, "gpt-4o-mini-2024-07-18"})
    assert len([c for c in calls if c.json["model"] == model]) == 6


def test_long_listings_page_with_show_more(bot: Bot) -> None:
    import datetime as dt

    jobs = bot.services.jobs._jobs
    now = dt.datetime.now(dt.UTC)
    for i in range(95):
        jobs.add_request(
            request_key=f"many:{i}", now=now - dt.timedelta(minutes=i), request=NewJob(
                remote_id=f"ftjob-many{i:03d}", channel_id="C1", owner_id=f"U{i % 7}",
                model="gpt-4o-mini-2024-07-18", state=JobState.CREATED, status="running",
            ),
        )  # fmt: skip
    _, first = bot.command("jobs all")
    text = json.dumps(first, ensure_ascii=False)
    assert "ftjob-many000" in text and "ftjob-many040" not in text and "showing 1–40 of 95" in text
    value = next(
        e["value"] for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == ids.LIST_MORE
    )  # fmt: skip
    with RecordingHost() as hooks:
        bot.click(ids.LIST_MORE, value, response_url=hooks.url("/actions/T1/1/x"))
        second = json.loads(wait_for(lambda: hooks.requests, what="page 2")[0].body)
    page_two = json.dumps(second, ensure_ascii=False)
    assert second["replace_original"] is True
    assert "ftjob-many040" in page_two and "ftjob-many000" not in page_two
    assert "showing 41–80 of 95" in page_two and ids.LIST_MORE in page_two
