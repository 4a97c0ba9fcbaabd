"""The start form's backend picker (issue 13, product §9) through signed requests and the fake
Slack's views.open/views.update: shown only with two backends configured; choosing Together
re-renders the form with Together's models, default, learning-rate wording and options, keeping
what was typed; a tampered backend or model in a submission is refused on the field."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from handlers import ids
from handlers.blocks.jobs import START_CALLBACK
from tests.e2e.conftest import SECRET, Bot, start_bot, wait_for
from tests.e2e.test_jobs import creates, ready
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.signing import input_action_request

pytestmark = pytest.mark.db

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
QWEN = "Qwen/Qwen2.5-7B-Instruct"
TOGETHER_JOBS = "/v1/fine-tunes"


@pytest.fixture
def two(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    """A bot with OpenAI and Together AI configured (OpenAI the default before 2027-01-06)."""
    bot = start_bot(
        slack, database_url, openai,
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
    )  # fmt: skip
    yield bot
    bot.stop()


def open_form(bot: Bot) -> tuple[dict[str, Any], dict[str, Any]]:
    """Click *Start* on a fresh dataset's report; the Slack file and the view Slack opened."""
    file = ready(bot)
    assert bot.click(ids.DATASET_START, file["id"], trigger_id=bot.slack.new_trigger_id()) == 200
    opened = wait_for(lambda: bot.slack.answered("views.open"), what="views.open")[0]
    assert opened.response and opened.response["ok"], opened.response
    return file, opened.response["view"]


def by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def text_input(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def select(value: str, action_id: str = "value") -> dict[str, Any]:
    return {action_id: {"type": "static_select", "selected_option": {"value": value}}}


def pick(
    bot: Bot, view: dict[str, Any], backend: str, typed: dict[str, Any], *, user: str = "U1"
) -> int:
    """The block_actions Slack sends when the picker changes in `view` (with its state)."""
    option = {"text": {"type": "plain_text", "text": backend, "emoji": True}, "value": backend}
    state = {**typed, "backend": select(backend, ids.START_BACKEND)}
    action = {
        "type": "static_select",
        "action_id": ids.START_BACKEND,
        "block_id": "backend",
        "selected_option": option,
    }
    request = input_action_request(
        view, action, state=state, secret=SECRET, trigger_id=bot.slack.new_trigger_id(),
        user_id=user,
    )  # fmt: skip
    return bot.send(*request)[0]


def test_the_picker_appears_with_two_backends(two: Bot) -> None:
    _, view = open_form(two)
    blocks = by_id(view)
    picker = blocks["backend"]
    assert picker["dispatch_action"] is True
    assert picker["element"]["action_id"] == ids.START_BACKEND
    assert [o["text"]["text"] for o in picker["element"]["options"]] == ["OpenAI", "Together AI"]
    assert picker["element"]["initial_option"]["value"] == "openai"  # the default backend
    assert blocks["lr"]["label"]["text"] == "Learning-rate multiplier"
    assert json.loads(view["private_metadata"])["backend"] == "openai"


def test_no_picker_with_one_backend(bot: Bot) -> None:
    _, view = open_form(bot)
    assert "backend" not in by_id(view)
    assert "lr" in by_id(view) and "seed" in by_id(view)


def test_choosing_together_updates_the_form_and_keeps_what_was_typed(two: Bot) -> None:
    file, view = open_form(two)
    typed = {
        "epochs": text_input("2"),
        "suffix": text_input("drone"),
        "lr": text_input("0.5"),
        "model": select("gpt-4.1-mini-2025-04-14"),
    }
    assert pick(two, view, "together", typed) == 200
    update = wait_for(lambda: two.slack.answered("views.update"), what="views.update")[0]
    assert update.params["view_id"] == view["id"] and update.params["hash"] == view["hash"]
    assert update.response and update.response["ok"], update.response
    new = update.response["view"]  # as Slack stored it
    blocks = by_id(new)
    assert blocks["backend"]["element"]["initial_option"]["value"] == "together"
    models = [o["value"] for o in blocks["model"]["element"]["options"]]
    assert LLAMA in models and QWEN in models and not [m for m in models if "gpt" in m]
    assert blocks["model"]["element"]["initial_option"]["value"] == LLAMA  # FTBOT_TOGETHER_MODEL
    assert blocks["learning_rate"]["label"]["text"] == "Learning rate (absolute)"
    assert "1e-5" in blocks["learning_rate"]["element"]["placeholder"]["text"]
    assert "initial_value" not in blocks["learning_rate"]["element"]  # a multiplier isn't one
    assert blocks["training"]["element"]["initial_option"]["value"] == "lora"
    assert "checkpoints" in blocks and "lr" not in blocks and "seed" not in blocks
    assert blocks["epochs"]["element"]["initial_value"] == "2"
    assert blocks["suffix"]["element"]["initial_value"] == "drone"
    assert json.loads(new["private_metadata"]) == {"dataset": file["id"], "backend": "together"}
    assert "quotes each job" in json.dumps(new["blocks"])
    # a second choice from the same (now stale) view loses the race quietly: hash_conflict
    assert pick(two, view, "openai", typed) == 200
    stale = wait_for(lambda: two.slack.calls_to("views.update")[1:], what="second update")[0]
    assert stale.params["hash"] == view["hash"]
    assert stale.response and stale.response.get("error") == "hash_conflict", stale.response
    time.sleep(0.2)
    assert two.slack.calls_to("chat.postEphemeral") == []


def test_a_choice_of_an_unconfigured_backend_or_an_unseen_dataset_changes_nothing(
    two: Bot,
) -> None:
    _, view = open_form(two)
    assert pick(two, view, "azure", {}) == 200
    assert pick(two, view, "<!channel>", {}) == 200
    forged = {**view, "private_metadata": json.dumps({"dataset": "FNOPE", "backend": "openai"})}
    assert pick(two, forged, "together", {}) == 200
    time.sleep(0.5)
    assert two.slack.calls_to("views.update") == []


def submission(model: str, **typed: Any) -> dict[str, Any]:
    values = {"model": select(model), "method": select("supervised")}
    for name, value in typed.items():
        values[name] = value if isinstance(value, dict) else text_input(value)
    return values


def test_a_tampered_backend_or_model_is_refused_on_the_field(
    two: Bot, openai: FakeOpenAI, together: FakeTogether
) -> None:
    file, _ = open_form(two)
    cases = [
        ({"dataset": file["id"], "backend": "azure"}, submission(LLAMA), "backend"),
        ({"dataset": file["id"], "backend": 7}, submission(LLAMA), "backend"),
        ({"dataset": file["id"], "backend": "openai"}, submission(LLAMA), "model"),
        ({"dataset": file["id"], "backend": "together"}, submission("gpt-4o-mini-2024-07-18"), "model"),
        ({"dataset": file["id"], "backend": "together"}, submission(LLAMA, learning_rate="0.5"), "learning_rate"),
        ({"dataset": file["id"], "backend": "together"}, submission(LLAMA, training=select("half")), "training"),
        ({"dataset": file["id"], "backend": "openai"}, submission("gpt-4o-mini-2024-07-18", lr="1e-5"), "lr"),
    ]  # fmt: skip
    for metadata, values, field in cases:
        status, payload = two.submit(START_CALLBACK, values, private_metadata=json.dumps(metadata))
        assert status == 200 and payload["response_action"] == "errors", (metadata, payload)
        assert list(payload["errors"]) == [field], (metadata, payload)
    assert creates(openai) == [] and together.calls_to("POST", TOGETHER_JOBS) == []
    assert (
        together.calls_to("POST", "/v1/files") == [] and openai.calls_to("POST", "/v1/files") == []
    )


def test_a_together_backend_is_refused_where_only_openai_is_configured(
    bot: Bot, openai: FakeOpenAI
) -> None:
    file, _ = open_form(bot)
    metadata = json.dumps({"dataset": file["id"], "backend": "together"})
    status, payload = bot.submit(START_CALLBACK, submission(LLAMA), private_metadata=metadata)
    assert status == 200 and payload["response_action"] == "errors"
    assert "Together AI isn't configured" in payload["errors"]["model"]
    assert creates(openai) == []


def test_an_openai_submission_from_the_two_backend_form_starts_on_openai(
    two: Bot, openai: FakeOpenAI, together: FakeTogether
) -> None:
    _, view = open_form(two)
    values = submission(
        "gpt-4.1-mini-2025-04-14", epochs="3", lr="0.2", backend=select("openai", ids.START_BACKEND)
    )
    status, payload = two.submit(START_CALLBACK, values, private_metadata=view["private_metadata"])
    assert status == 200 and payload is None, payload
    wait_for(lambda: creates(openai), what="the OpenAI job")
    body = creates(openai)[0].json
    assert body["model"] == "gpt-4.1-mini-2025-04-14"
    assert body["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": 3,
        "learning_rate_multiplier": 0.2,
    }
    assert together.calls_to("POST", TOGETHER_JOBS) == []


def test_a_together_submission_creates_the_job_on_together(
    two: Bot, openai: FakeOpenAI, together: FakeTogether
) -> None:
    _, view = open_form(two)
    assert pick(two, view, "together", {"epochs": text_input("2")}) == 200
    update = wait_for(lambda: two.slack.answered("views.update"), what="views.update")[0]
    metadata = update.response["view"]["private_metadata"]
    values = submission(
        QWEN, epochs="2", learning_rate="2e-5", checkpoints="2", training=select("full"),
        backend=select("together", ids.START_BACKEND),
    )  # fmt: skip
    status, payload = two.submit(START_CALLBACK, values, private_metadata=metadata, view_id="V9")
    assert status == 200 and payload is None, payload
    call = wait_for(
        lambda: [c for c in together.calls_to("POST", TOGETHER_JOBS) if c.status == 200],
        what="the job created on Together",
    )[0]
    body = call.json or {}
    assert body["model"] == QWEN
    assert body["learning_rate"] == 2e-5
    assert body["n_epochs"] == 2 and body["n_checkpoints"] == 2
    assert body.get("lora") is False or body.get("training_type", {}).get("type") == "Full"
    assert creates(openai) == []
