"""The start form's fields (issue 15, point 7) through signed requests and the fake Slack's
views.open/views.update: number inputs with the backend's limits, only the method the data
trains with, one estimate line that follows the epochs and the model (views.update with the
view's hash), and errors under the field they are about."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.core.fmt import usd
from bot.core.models import resolve_model
from handlers import ids
from handlers.blocks.start_form import ESTIMATE_BLOCK, START_CALLBACK
from tests.conftest import DATA
from tests.e2e.conftest import SECRET, Bot, wait_for
from tests.e2e.test_jobs import creates, job_posts, ready
from tests.e2e.test_start_form_backends import by_id, open_form, select, submission
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.signing import input_action_request

pytestmark = pytest.mark.db

MINI = "gpt-4o-mini-2024-07-18"
OTHER = "gpt-4.1-mini-2025-04-14"
PREFS = (DATA / "dpo.jsonl").read_bytes()
_LINE = re.compile(r"`([^`]+)` · ([0-9,]+) tokens × ([0-9]+) epochs? · (\S+)$")


def number(value: str) -> dict[str, Any]:
    return {"value": {"type": "number_input", "value": value}}


def change(bot: Bot, view: dict[str, Any], action: dict[str, Any], state: dict[str, Any]) -> int:
    """The block_actions Slack sends when a dispatching input of `view` changes."""
    request = input_action_request(
        view, action, state=state, secret=SECRET, trigger_id=bot.slack.new_trigger_id()
    )
    return bot.send(*request)[0]


def estimate(view: dict[str, Any]) -> tuple[str, int, int, str]:
    """The estimate line's model, tokens per epoch, epochs and price."""
    text = by_id(view)[ESTIMATE_BLOCK]["text"]["text"]
    found = _LINE.search(text.replace(" (auto)", ""))
    assert found, text
    model, tokens, epochs, price = found.groups()
    return model, int(tokens.replace(",", "")), int(epochs), price


def updates(bot: Bot, count: int) -> list[Any]:
    return wait_for(
        lambda: (calls := bot.slack.calls_to("views.update"))[count - 1 :] and calls,
        what=f"views.update #{count}",
    )


def test_numbers_have_limits_and_the_estimate_follows_epochs_and_model(bot: Bot) -> None:
    _, view = open_form(bot)
    blocks = by_id(view)
    numbers = {
        name: blocks[name]["element"] for name in ("epochs", "batch", "lr", "seed")
    }  # fmt: skip
    assert {n: e["type"] for n, e in numbers.items()} == dict.fromkeys(numbers, "number_input")
    assert (numbers["epochs"]["min_value"], numbers["epochs"]["max_value"]) == ("1", "50")
    assert (numbers["lr"]["min_value"], numbers["lr"]["max_value"]) == ("0.001", "10")
    assert numbers["lr"]["is_decimal_allowed"] is True
    assert numbers["epochs"]["is_decimal_allowed"] is False
    assert blocks["epochs"]["dispatch_action"] is True and blocks["model"]["dispatch_action"]
    method = blocks["method"]["element"]
    assert [(o["value"], o["text"]["text"]) for o in method["options"]] == [
        ("supervised", "Supervised (SFT)")
    ]
    assert "(auto)" in blocks[ESTIMATE_BLOCK]["text"]["text"]
    model, tokens, default_epochs, _ = estimate(view)
    assert model == MINI
    epochs = default_epochs + 3

    # typing the epochs re-renders the form with the estimate for them
    state = {"epochs": number(str(epochs)), "model": select(MINI, ids.START_MODEL)}
    action = {"type": "number_input", "action_id": ids.START_EPOCHS, "block_id": "epochs"}
    assert change(bot, view, {**action, "value": str(epochs)}, state) == 200
    update = updates(bot, 1)[0]
    assert update.params["view_id"] == view["id"] and update.params["hash"] == view["hash"]
    assert update.response and update.response["ok"], update.response
    new = update.response["view"]
    rate = resolve_model(MINI, "openai").training_usd_per_1m
    assert estimate(new) == (MINI, tokens, epochs, usd(tokens * epochs * rate / 1e6))
    assert "(auto)" not in by_id(new)[ESTIMATE_BLOCK]["text"]["text"]
    assert by_id(new)["epochs"]["element"]["initial_value"] == str(epochs)

    # picking another model (from the updated view, with its hash) re-prices the same epochs
    state["model"] = select(OTHER, ids.START_MODEL)
    pick = {"type": "static_select", "action_id": ids.START_MODEL, "block_id": "model"}
    assert change(bot, new, {**pick, "selected_option": {"value": OTHER}}, state) == 200
    second = updates(bot, 2)[1]
    assert second.params["hash"] == new["hash"] and second.response["ok"], second.response
    other_rate = resolve_model(OTHER, "openai").training_usd_per_1m
    latest = second.response["view"]
    assert by_id(latest)["model"]["element"]["initial_option"]["value"] == OTHER
    assert estimate(latest)[0] == OTHER and estimate(latest)[2] == epochs
    assert estimate(latest)[3] == usd(estimate(latest)[1] * epochs * other_rate / 1e6)

    # a hostile value typed in the state is never echoed into the form: auto again
    state["epochs"] = number("<!channel>")
    assert change(bot, latest, {**action, "value": "<!channel>"}, state) == 200
    third = updates(bot, 3)[2].response["view"]
    assert "initial_value" not in by_id(third)["epochs"]["element"]
    assert "(auto)" in by_id(third)[ESTIMATE_BLOCK]["text"]["text"]


def test_errors_come_back_under_their_own_field(bot: Bot, openai: FakeOpenAI) -> None:
    chat, view = open_form(bot)
    metadata = view["private_metadata"]
    cases = [
        (submission(MINI, epochs=number("99")), "epochs", "between 1 and 50"),
        (submission(MINI, batch=number("2.5")), "batch", "whole number"),
        (submission(MINI, lr=number("50")), "lr", "multiplier"),
        (submission(MINI, seed=number("-4")), "seed", "between"),
        ({**submission(MINI), "method": select("dpo")}, "method", "Supervised (SFT)"),
    ]
    for values, field, words in cases:
        status, payload = bot.submit(START_CALLBACK, values, private_metadata=metadata)
        assert status == 200 and payload["response_action"] == "errors", payload
        assert list(payload["errors"]) == [field] and words in payload["errors"][field], payload
    # refusals of the plan land on their field too: preference data as a chat job's validation
    prefs = ready(bot, "prefs.jsonl", PREFS)
    values = submission(MINI, validation=select(prefs["id"]))
    status, payload = bot.submit(START_CALLBACK, values, private_metadata=metadata)
    assert status == 200 and list(payload["errors"]) == ["validation"], payload
    assert "prefs.jsonl can't be the validation file" in payload["errors"]["validation"]
    assert chat["id"] != prefs["id"] and creates(openai) == []


def test_preference_data_offers_only_dpo_and_trains_with_it(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot, "prefs.jsonl", PREFS)
    assert bot.click(ids.DATASET_START, file["id"], trigger_id=bot.slack.new_trigger_id()) == 200
    view = wait_for(lambda: bot.slack.calls_to("views.open"), what="views.open")[0].response
    assert view and view["ok"], view
    blocks = by_id(view["view"])
    method = blocks["method"]["element"]
    assert [(o["value"], o["text"]["text"]) for o in method["options"]] == [
        ("dpo", "Preference (DPO)")
    ]
    models = [o["value"] for o in blocks["model"]["element"]["options"]]
    assert MINI in models and "gpt-3.5-turbo-0125" not in models and "babbage-002" not in models
    values = {**submission(MINI, epochs=number("2")), "method": select("dpo")}
    metadata = view["view"]["private_metadata"]
    status, payload = bot.submit(START_CALLBACK, values, private_metadata=metadata)
    assert status == 200 and payload is None, payload
    wait_for(lambda: creates(openai), what="the DPO job")
    body = creates(openai)[0].json
    assert body["method"]["type"] == "dpo" and body["method"]["dpo"]["hyperparameters"] == {
        "n_epochs": 2
    }
    wait_for(lambda: job_posts(bot.slack), what="the job post")
