"""Azure OpenAI's remaining paths end to end (issue 14): the approval threshold on a price
nobody can know, the start form's Azure choice, the wind-down button onto Azure and compare
through a recorded base-model deployment."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.models import trainable_models
from handlers import ids
from handlers.blocks.jobs import START_CALLBACK
from tests.conftest import DATA
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_azure_deploy import MODEL as TUNED
from tests.e2e.test_azure_deploy import OWNER, add_model
from tests.e2e.test_azure_deploy import answer as deploy
from tests.e2e.test_azure_jobs import azure_settings, creates
from tests.e2e.test_jobs import ephemerals, job_posts, ready
from tests.e2e.test_models import ask
from tests.e2e.test_start_form_backends import (
    by_id,
    open_form,
    pick,
    select,
    submission,
    text_input,
)
from tests.e2e.test_together_start import approval_key
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture
def azure_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(azure=True) as fake:
        yield fake
        assert not fake.errors, fake.errors


def azure_bot(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure: FakeOpenAI, **kw: Any
) -> Bot:
    slack.add_user("UADMIN")
    return start_bot(
        slack, database_url, openai, FTBOT_ADMINS="UADMIN", **azure_settings(azure), **kw
    )


def test_an_unknown_price_needs_an_admin_before_anything_is_uploaded(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    bot = azure_bot(slack, database_url, openai, azure_fake, FTBOT_APPROVAL_USD=1000)
    try:
        file = ready(bot)
        _, payload = bot.command(f"start {file['id']} backend=azure", user="UREQ")
        assert "approval threshold" in payload["text"] and "$1,000.00" in payload["text"], payload
        request = wait_for(
            lambda: [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")],
            what="the approval request",
        )[0]
        assert request["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
        assert "price unknown" in request["text"] and "Azure OpenAI" in request["text"]
        # nothing reached Azure before the approval
        assert azure_fake.calls_to("POST", "/openai/files") == [] and creates(azure_fake) == []
        key = approval_key(request)
        assert bot.click(ids.JOB_APPROVE, key, user="UREQ") == 200
        wait_for(lambda: ephemerals(slack), what="the requester's refusal")
        assert creates(azure_fake) == []
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        post = wait_for(lambda: job_posts(slack), what="the job post")[0]
        assert "<@UREQ>" in post["text"] and "$" not in post["text"], post["text"]
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        wait_for(
            lambda: any("already approved" in t for t in ephemerals(slack)),
            what="the second approval answered",
        )
        (call,) = creates(azure_fake)
        assert call.json is not None and call.json["model"] == MODEL
        assert len(azure_fake.calls_to("POST", "/openai/files")) == 1
        assert openai.jobs == {} and openai.calls_to("POST", "/v1/files") == []
    finally:
        bot.stop()


def test_without_a_threshold_an_azure_job_starts_at_once(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    bot = azure_bot(slack, database_url, openai, azure_fake)
    try:
        file = ready(bot)
        _, payload = bot.command(f"start {file['id']} backend=azure", user="UREQ")
        assert "approval" not in payload["text"], payload
        wait_for(lambda: job_posts(slack), what="the job post")
        assert len(creates(azure_fake)) == 1
        assert not [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")]
    finally:
        bot.stop()


def test_with_the_teams_own_rate_an_azure_job_is_estimated_and_approved_in_dollars(
    slack: FakeSlack,
    database_url: str,
    openai: FakeOpenAI,
    azure_fake: FakeOpenAI,
    tmp_path: Any,
) -> None:
    """FTBOT_PRICES gives Azure's gpt-4o-mini a rate: the estimate is in dollars; under the
    threshold the job starts at once, and the price is not 'unknown' anywhere."""
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[[price]]\nbackend = "azure"\nmodel = "gpt-4o-mini"\ntraining_usd_per_1m = 1.65\n'
        'source = "our Azure price sheet, East US 2"\n'
    )
    bot = azure_bot(
        slack, database_url, openai, azure_fake, FTBOT_APPROVAL_USD=1000, FTBOT_PRICES=str(prices)
    )
    try:
        file = ready(bot)
        _, cost = bot.command(f"cost {file['id']} model=gpt-4o-mini backend=azure", user="UREQ")
        assert "$" in cost["text"] and "unknown" not in cost["text"], cost
        _, payload = bot.command(f"start {file['id']} backend=azure", user="UREQ")
        assert "approval" not in payload["text"] and "$" in payload["text"], payload
        assert "unknown" not in payload["text"], payload
        post = wait_for(lambda: job_posts(slack), what="the job post")[0]
        assert "$" in post["text"] and "unknown" not in post["text"], post["text"]
        assert len(creates(azure_fake)) == 1
        assert not [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")]
    finally:
        bot.stop()


def test_the_start_form_on_azure_shows_its_models_and_creates_the_job_there(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    bot = azure_bot(slack, database_url, openai, azure_fake)
    try:
        file, view = open_form(bot)
        picker = by_id(view)["backend"]["element"]
        assert [o["text"]["text"] for o in picker["options"]] == ["OpenAI", "Azure OpenAI"]
        assert picker["initial_option"]["value"] == "openai"
        typed = {"epochs": text_input("2"), "suffix": text_input("drone"), "lr": text_input("0.5")}
        assert pick(bot, view, "azure", typed) == 200
        update = wait_for(lambda: slack.answered("views.update"), what="views.update")[0]
        assert update.response and update.response["ok"], update.response
        new = update.response["view"]
        blocks = by_id(new)
        assert blocks["backend"]["element"]["initial_option"]["value"] == "azure"
        today = dt.datetime.now(dt.UTC).date()
        models = [o["value"] for o in blocks["model"]["element"]["options"]]
        assert models == [m.id for m in trainable_models(today, "azure")] and MODEL in models
        assert blocks["model"]["element"]["initial_option"]["value"] == MODEL
        assert blocks["lr"]["label"]["text"] == "Learning-rate multiplier"
        assert "seed" in blocks
        assert "checkpoints" not in blocks and "training" not in blocks
        assert "learning_rate" not in blocks
        assert blocks["epochs"]["element"]["initial_value"] == "2"
        assert blocks["lr"]["element"]["initial_value"] == "0.5"
        assert json.loads(new["private_metadata"]) == {"dataset": file["id"], "backend": "azure"}
        values = submission(
            MODEL, epochs="2", lr="0.5", seed="7", suffix="drone",
            backend=select("azure", ids.START_BACKEND),
        )  # fmt: skip
        status, payload = bot.submit(
            START_CALLBACK, values, private_metadata=new["private_metadata"], view_id="V9"
        )
        assert status == 200 and payload is None, payload
        (call,) = wait_for(lambda: creates(azure_fake), what="the job created on Azure")
        body = call.json or {}
        assert body["model"] == MODEL and body["seed"] == 7 and body["suffix"].startswith("drone")
        assert body["method"]["supervised"]["hyperparameters"] == {
            "n_epochs": 2,
            "learning_rate_multiplier": 0.5,
        }
        wait_for(lambda: job_posts(slack), what="the job post")
        assert openai.jobs == {} and openai.calls_to("POST", "/v1/files") == []
        # the same view again: no second job
        bot.submit(START_CALLBACK, values, private_metadata=new["private_metadata"], view_id="V9")
        time.sleep(0.5)
        assert len(creates(azure_fake)) == 1
    finally:
        bot.stop()


def refusal(bot: Bot) -> dict[str, Any]:
    return wait_for(
        lambda: [m for m in bot.slack.messages("C1") if "didn't start" in (m.get("text") or "")],
        what="the refusal in the thread",
    )[0]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def test_refused_on_openai_start_once_on_azure(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    chosen = "gpt-4.1-mini-2025-04-14"
    bot = azure_bot(slack, database_url, openai, azure_fake, FTBOT_DEFAULT_MODEL=chosen)
    openai.training_not_available = True
    try:
        file = ready(bot)
        bot.command(
            f"start {file['id']} model=gpt-4o-mini-2024-07-18 epochs=2 batch=8 lr=0.5 "
            "suffix=drone seed=7",
            user="U5",
        )
        message = refusal(bot)
        assert "can no longer start fine-tuning jobs" in message["text"]
        assert "Azure OpenAI" in message["text"] and "<@U5>" in message["text"]
        (button,) = buttons(message)
        assert button["action_id"] == ids.JOB_START_ELSEWHERE
        assert button["text"]["text"] == "Start on Azure OpenAI"
        assert json.loads(button["value"])["backend"] == "azure"
        assert creates(openai) == [] and creates(azure_fake) == []

        trigger = slack.new_trigger_id()
        assert bot.click(ids.JOB_START_ELSEWHERE, button["value"], trigger_id=trigger) == 200
        opened = wait_for(lambda: slack.answered("views.open"), what="views.open")[0]
        view = opened.response["view"]
        metadata = json.loads(view["private_metadata"])
        assert metadata["dataset"] == file["id"] and metadata["backend"] == "azure"
        blocks = by_id(view)
        assert blocks["backend"]["element"]["initial_option"]["value"] == "azure"
        assert blocks["model"]["element"]["initial_option"]["value"] == chosen
        assert blocks["epochs"]["element"]["initial_value"] == "2"
        assert blocks["batch"]["element"]["initial_value"] == "8"
        assert blocks["suffix"]["element"]["initial_value"] == "drone"
        assert blocks["seed"]["element"]["initial_value"] == "7"
        assert blocks["lr"]["element"]["initial_value"] == "0.5"  # the same multiplier on Azure
        assert "checkpoints" not in blocks and "training" not in blocks

        values = submission(chosen, epochs="2", batch="8", lr="0.5", suffix="drone", seed="7")
        for _ in range(2):  # the same form twice: one job
            status, answer = bot.submit(
                START_CALLBACK, values, private_metadata=view["private_metadata"],
                view_id=view["id"],
            )  # fmt: skip
            assert status == 200 and answer is None, answer
        (call,) = wait_for(lambda: creates(azure_fake), what="the job on Azure")
        body = call.json or {}
        assert body["model"] == chosen and body["seed"] == 7
        assert body["method"]["supervised"]["hyperparameters"] == {
            "n_epochs": 2,
            "batch_size": 8,
            "learning_rate_multiplier": 0.5,
        }
        wait_for(lambda: job_posts(slack), what="the job post")
        # a second click and a second form: still one job
        assert (
            bot.click(ids.JOB_START_ELSEWHERE, button["value"], trigger_id=slack.new_trigger_id())
            == 200
        )
        again = wait_for(lambda: slack.answered("views.open")[1:], what="second views.open")[0]
        second = again.response["view"]
        bot.submit(
            START_CALLBACK, values, private_metadata=second["private_metadata"],
            view_id=second["id"],
        )  # fmt: skip
        wait_for(
            lambda: sum("already received" in e for e in ephemerals(slack)) >= 2,
            what="the duplicate answers",
        )
        time.sleep(0.3)
        assert len(creates(azure_fake)) == 1 and creates(openai) == []
    finally:
        bot.stop()


def test_compare_on_azure_asks_the_base_model_through_its_recorded_deployment(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    bot = azure_bot(slack, database_url, openai, azure_fake)
    tuned = TUNED
    try:
        ready(bot, "heldout.jsonl", content=(DATA / "bom.jsonl").read_bytes())
        add_model(bot, name=tuned)
        deploy(bot, f"deploy {tuned} name=support-bot", user=OWNER)
        azure_fake.add_model("support-bot")
        azure_fake.add_model("base-mini")
        azure_fake.chat_responder = lambda request: "an answer"
        chats = "/openai/deployments/"
        # no deployment of the base model: one line saying how, and nothing asked of Azure
        said = ask(bot, f"compare {tuned} heldout.jsonl n=2", user=OWNER)["text"]
        assert f"/finetune deploy {MODEL} name=&lt;deployment&gt;" in said, said
        assert "\n" not in said.strip() and "admin" in said
        assert [c for c in azure_fake.calls if c.path.startswith(chats)] == []
        # only an admin records a base model's deployment (it is shared); a name is needed
        refused = deploy(bot, f"deploy {MODEL} name=base-mini", user=OWNER)
        assert "Only an admin" in refused, refused
        assert "name=&lt;deployment&gt;" in deploy(bot, f"deploy {MODEL}", user="UADMIN")
        recorded = deploy(bot, f"deploy {MODEL} name=base-mini", user="UADMIN")
        assert "Recorded" in recorded and "base-mini" in recorded, recorded
        result = ask(bot, f"compare {tuned} heldout.jsonl n=2", user=OWNER)
        assert "exact match" in json.dumps(result), result
        asked = {c.path for c in azure_fake.calls if c.path.startswith(chats)}
        assert asked == {
            f"{chats}base-mini/chat/completions",
            f"{chats}support-bot/chat/completions",
        }, asked
        assert openai.calls_to("POST", "/v1/chat/completions") == []
    finally:
        bot.stop()


def test_delete_model_on_azure_goes_to_azures_models_api(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, azure_fake: FakeOpenAI
) -> None:
    """What the README's support table says of Azure's delete-model, checked."""
    bot = azure_bot(slack, database_url, openai, azure_fake)
    try:
        add_model(bot, name=TUNED)
        azure_fake.add_model(TUNED)
        _, confirm = bot.command(f"delete-model {TUNED}", user=OWNER)
        assert ids.MODEL_DELETE in json.dumps(confirm["blocks"])
        bot.click(ids.MODEL_DELETE, TUNED, user=OWNER)
        wait_for(lambda: azure_fake.calls_to("DELETE", f"/openai/models/{TUNED}"), what="delete")
        assert openai.calls_to("DELETE", f"/v1/models/{TUNED}") == []
    finally:
        bot.stop()
