"""The start form without Slack: the builder per backend (picker, models, learning-rate wording,
backend options, carried values) and the submission read into a Start, hostile values refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from bot.core.billing import BillingLine
from bot.core.command_types import Start
from bot.core.models import trainable_models
from bot.services.errors import UserError
from handlers import ids
from handlers.blocks.start_form import (
    BACKEND_BLOCK,
    ESTIMATE_BLOCK,
    START_CALLBACK,
    StartFormData,
    read_values,
    start_form,
)
from handlers.views.start_form import parse_submission, plan_error_block
from storage.repositories import DatasetRecord
from tests.conftest import TODAY
from tests.fakes.slack_blocks import check_view

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
QWEN = "Qwen/Qwen2.5-7B-Instruct"
OPENAI_MODELS = [m.id for m in trainable_models(TODAY, "openai")]
TOGETHER_MODELS = [m.id for m in trainable_models(TODAY, "together")]
DEFAULTS = {"openai": "gpt-4o-mini-2024-07-18", "together": LLAMA}
BOTH = ("openai", "together")


def dataset(fmt: str = "chat") -> DatasetRecord:
    return DatasetRecord(
        id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1",
        name="drone.jsonl", size_bytes=10, sha256=None, format=fmt, examples=12,
        total_tokens=345, valid=True, report=None, status="reported", error=None,
        report_ts=None, created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )  # fmt: skip


def other(file_id: str) -> DatasetRecord:
    return dataclasses.replace(dataset(), id=2, slack_file_id=file_id, name="valid.jsonl")


def line(model: str, *, quoted: bool = False) -> BillingLine:
    return BillingLine(
        model=model, encoding="cl100k_base", example_limit=1, usd_per_1m=0.0 if quoted else 3.0,
        billed_tokens_per_epoch=1234, epochs=3, cost_usd=0.0 if quoted else 0.011,
        trainable=True, shutdown=None, backend="together" if quoted else "openai",
        quoted=quoted, tokens_estimated=quoted,
    )  # fmt: skip


def form(backend: str, backends: tuple[str, ...] = BOTH, **kw: Any) -> dict[str, Any]:
    models = OPENAI_MODELS if backend == "openai" else TOGETHER_MODELS
    data = StartFormData(
        dataset=dataset(),
        backend=backend,
        backends=backends,
        models=models,
        default_model=DEFAULTS[backend],
        **kw,
    )
    view = start_form(data).to_dict()
    assert check_view(view) == []
    return view


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def test_one_backend_has_no_picker_and_the_openai_fields() -> None:
    view = form("openai", ("openai",), estimate=line("gpt-4o-mini-2024-07-18"))
    blocks = blocks_by_id(view)
    assert BACKEND_BLOCK not in blocks
    assert list(blocks) == [
        "model", "method", ESTIMATE_BLOCK, "epochs", "batch", "lr", "suffix", "seed", "holdout", "eval",
    ]  # fmt: skip
    assert blocks["lr"]["label"]["text"] == "Learning-rate multiplier"
    assert "multiplier" in blocks["lr"]["element"]["placeholder"]["text"]
    assert blocks["model"]["element"]["initial_option"]["value"] == "gpt-4o-mini-2024-07-18"
    assert [o["value"] for o in blocks["model"]["element"]["options"]] == OPENAI_MODELS
    assert json.loads(view["private_metadata"]) == {"dataset": "F1", "backend": "openai"}
    assert view["callback_id"] == START_CALLBACK
    assert blocks[ESTIMATE_BLOCK]["text"]["text"] == (
        "*Estimate*: `gpt-4o-mini-2024-07-18` · 1,234 tokens × 3 epochs (auto) · $0.01"
    )


def test_two_backends_show_a_picker_that_dispatches_its_action() -> None:
    blocks = blocks_by_id(form("openai"))
    picker = blocks[BACKEND_BLOCK]
    assert picker["dispatch_action"] is True
    element = picker["element"]
    assert element["action_id"] == ids.START_BACKEND
    assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [
        ("openai", "OpenAI"),
        ("together", "Together AI"),
    ]
    assert element["initial_option"]["value"] == "openai"


def test_the_together_form_has_its_models_absolute_rate_and_options() -> None:
    view = form("together", estimate=line(LLAMA, quoted=True))
    blocks = blocks_by_id(view)
    assert blocks[BACKEND_BLOCK]["element"]["initial_option"]["value"] == "together"
    assert [o["value"] for o in blocks["model"]["element"]["options"]] == TOGETHER_MODELS
    assert blocks["model"]["element"]["initial_option"]["value"] == LLAMA
    assert "lr" not in blocks and "seed" not in blocks
    rate = blocks["learning_rate"]
    assert rate["label"]["text"] == "Learning rate (absolute)"
    assert "1e-5" in rate["element"]["placeholder"]["text"]
    training = blocks["training"]["element"]
    assert training["type"] == "radio_buttons"
    assert [o["value"] for o in training["options"]] == ["lora", "full"]
    assert training["initial_option"]["value"] == "lora"
    assert "checkpoints" in blocks
    text = json.dumps(view, ensure_ascii=False)
    assert "absolute* on Together AI (default 1e-5)" in text
    # Together AI quotes its own price: a token count (an estimate), never a made-up rate
    assert blocks[ESTIMATE_BLOCK]["text"]["text"] == (
        f"*Estimate*: `{LLAMA}` · ~1,234 tokens (estimated count) × 3 epochs (auto) · Together "
        "AI quotes each job's price after the upload; the quote is shown in the job post"
    )
    assert "$" not in text
    assert json.loads(view["private_metadata"]) == {"dataset": "F1", "backend": "together"}


def test_typed_values_are_carried_only_where_they_mean_the_same() -> None:
    carried = {
        "epochs": "2", "batch": "8", "suffix": "drone", "method": "dpo", "validation": "F9",
        "lr": "0.5", "seed": "7", "model": "gpt-4.1-mini-2025-04-14",
    }  # fmt: skip
    blocks = blocks_by_id(form("together", validation_choices=[other("F9")], values=carried))
    initial = {k: b["element"].get("initial_value") for k, b in blocks.items()}
    assert (initial["epochs"], initial["batch"], initial["suffix"]) == ("2", "8", "drone")
    assert initial["learning_rate"] is None  # a multiplier is not an absolute rate
    # chat data trains with SFT only, whatever was carried
    assert blocks["method"]["element"]["initial_option"]["value"] == "supervised"
    assert blocks["validation"]["element"]["initial_option"]["value"] == "F9"
    assert blocks["model"]["element"]["initial_option"]["value"] == LLAMA  # not an OpenAI model
    back = blocks_by_id(form("openai", values={"model": QWEN, "training": "full", "epochs": "4"}))
    assert back["model"]["element"]["initial_option"]["value"] == DEFAULTS["openai"]
    assert back["epochs"]["element"]["initial_value"] == "4" and "training" not in back
    # a carried value that is not among the options is not preselected
    odd = blocks_by_id(form("together", values={"training": "half", "validation": "F0"}))
    assert odd["training"]["element"]["initial_option"]["value"] == "lora"
    assert "validation" not in odd


def test_a_default_model_not_in_the_list_falls_back_to_the_first() -> None:
    data = StartFormData(
        dataset=dataset(), backend="together", backends=BOTH, models=[QWEN], default_model="x/y"
    )
    view = start_form(data).to_dict()
    assert blocks_by_id(view)["model"]["element"]["initial_option"]["value"] == QWEN


def test_read_values_takes_text_selects_and_radios() -> None:
    state = {
        "epochs": {"value": {"type": "plain_text_input", "value": " 3 "}},
        "batch": {"value": {"type": "plain_text_input", "value": "  "}},
        "model": {"value": {"type": "static_select", "selected_option": {"value": QWEN}}},
        "training": {"value": {"type": "radio_buttons", "selected_option": {"value": "full"}}},
        "validation": {"value": {"type": "static_select", "selected_option": None}},
        BACKEND_BLOCK: {ids.START_BACKEND: {"selected_option": {"value": "together"}}},
        "junk": "not an object",
        "more": {"value": ["not", "an", "element"]},
    }
    assert read_values(state) == {
        "epochs": "3", "model": QWEN, "training": "full", BACKEND_BLOCK: "together",
    }  # fmt: skip
    assert read_values(None) == {} and read_values([1]) == {}


def submit(values: dict[str, str], backend: object, configured: tuple[str, ...] = BOTH) -> Any:
    return parse_submission(
        values=values, dataset="F1", backend=backend, configured=configured,
        default_backend="openai", default_models=DEFAULTS, today=TODAY,
    )  # fmt: skip


def test_an_openai_submission_builds_its_start() -> None:
    values = {
        "model": "gpt-4.1-mini-2025-04-14", "method": "supervised", "epochs": "2", "batch": "4",
        "lr": "0.5", "suffix": "drone-bot", "seed": "7", "validation": "F2",
        BACKEND_BLOCK: "openai",
    }  # fmt: skip
    assert submit(values, "openai") == Start(
        dataset="F1", backend="openai", model="gpt-4.1-mini-2025-04-14", epochs=2, batch=4,
        lr=0.5, suffix="drone-bot", seed=7, validation="F2", method="supervised",
    )  # fmt: skip


def test_a_together_submission_builds_its_start() -> None:
    values = {
        "model": QWEN, "method": "supervised", "epochs": "2", "learning_rate": "2e-5",
        "training": "full", "checkpoints": "3", "suffix": "drone", BACKEND_BLOCK: "together",
        "seed": "7", "lr": "0.5",  # not fields of Together's form: never read
    }  # fmt: skip
    assert submit(values, "together") == Start(
        dataset="F1", backend="together", model=QWEN, epochs=2, lr=2e-5, suffix="drone",
        training="full", checkpoints=3,
    )  # fmt: skip
    plain = submit({"model": LLAMA}, "together")
    assert plain == Start(dataset="F1", backend="together", model=LLAMA, training="lora")
    assert submit({}, "together").model == LLAMA  # no model sent: the backend's default


def test_a_form_without_a_backend_in_its_metadata_takes_the_models() -> None:
    assert submit({"model": "gpt-4o-mini-2024-07-18"}, None).backend == "openai"
    assert submit({"model": LLAMA}, None).backend == "together"
    assert submit({"model": LLAMA}, None, ("openai",)) == {
        "model": "Together AI isn't configured here: close this form and start again."
    }


@pytest.mark.parametrize(
    ("backend", "configured", "where"),
    [
        ("azure", BOTH, BACKEND_BLOCK),
        ("together", ("openai",), "model"),
        ("<!channel>", BOTH, BACKEND_BLOCK),
        (5, BOTH, BACKEND_BLOCK),
        (["together"], BOTH, BACKEND_BLOCK),
        ("", BOTH, BACKEND_BLOCK),
    ],
)
def test_a_tampered_backend_is_refused_on_the_field(
    backend: object, configured: tuple[str, ...], where: str
) -> None:
    errors = submit({"model": LLAMA}, backend, configured)
    assert list(errors) == [where]
    assert "isn't configured here" in errors[where] and "<!" not in errors[where]


def test_a_model_of_another_backend_is_refused() -> None:
    errors = submit({"model": LLAMA}, "openai")
    assert errors == {"model": f"{LLAMA} is not one of OpenAI's models: pick one from the list."}
    assert (
        "not one of Together AI's models"
        in submit({"model": "gpt-4o-mini-2024-07-18"}, "together")["model"]
    )
    assert "model" in submit({"model": "ft:gpt-4o-mini-2024-07-18:org::x"}, "openai")
    assert "model" in submit({"model": "x" * 5000}, "together")
    assert len(submit({"model": "x" * 5000}, "together")["model"]) < 200


def test_a_picker_the_form_did_not_follow_is_refused() -> None:
    errors = submit({"model": "gpt-4o-mini-2024-07-18", BACKEND_BLOCK: "together"}, "openai")
    assert list(errors) == [BACKEND_BLOCK]


@pytest.mark.parametrize(
    ("backend", "block", "raw", "words"),
    [
        ("openai", "lr", "1e-5", "multiplier"),
        ("openai", "lr", "abc", "number"),
        ("together", "learning_rate", "0.5", "absolute"),
        ("together", "learning_rate", "1e-9", "absolute"),
        ("together", "learning_rate", "nan", "number like 1e-5"),
        ("together", "learning_rate", "١e-5", "number like 1e-5"),
        ("together", "checkpoints", "21", "between 1 and 20"),
        ("together", "checkpoints", "2.5", "whole number"),
        ("together", "training", "half", "LoRA or full"),
        ("together", "epochs", "99", "between 1 and 50"),
        ("openai", "seed", "-1", "between"),
        ("openai", "suffix", "Has Spaces", "lowercase"),
        ("openai", "method", "rlhf", "supervised"),
    ],
)
def test_bad_values_come_back_on_their_field(
    backend: str, block: str, raw: str, words: str
) -> None:
    errors = submit({"model": DEFAULTS[backend], block: raw}, backend)
    assert list(errors) == [block] and words in errors[block], errors
    assert "`" not in errors[block]


def formed(fmt: str = "chat", backend: str = "openai", **kw: Any) -> dict[str, dict[str, Any]]:
    data = StartFormData(
        dataset=dataset(fmt), backend=backend, backends=BOTH, default_model=DEFAULTS[backend],
        models=OPENAI_MODELS if backend == "openai" else TOGETHER_MODELS, **kw,
    )  # fmt: skip
    view = start_form(data).to_dict()
    assert check_view(view) == []
    return blocks_by_id(view)


@pytest.mark.parametrize(
    ("fmt", "method"),
    [("chat", ("supervised", "Supervised (SFT)")),
     ("chat_tools", ("supervised", "Supervised (SFT)")),
     ("prompt_completion", ("supervised", "Supervised (SFT)")),
     ("dpo", ("dpo", "Preference (DPO)"))],
)  # fmt: skip
def test_only_the_method_the_data_trains_with_is_offered(fmt: str, method: tuple[str, str]) -> None:
    for carried in ({}, {"method": "dpo"}, {"method": "supervised"}):
        element = formed(fmt, values=carried)["method"]["element"]
        assert [(o["value"], o["text"]["text"]) for o in element["options"]] == [method]
        assert element["initial_option"]["value"] == method[0]


@pytest.mark.parametrize(
    ("backend", "block", "low", "high", "decimal"),
    [("openai", "epochs", "1", "50", False), ("openai", "batch", "1", "256", False),
     ("openai", "lr", "0.001", "10", True), ("openai", "seed", "0", "2147483647", False),
     ("together", "epochs", "1", "50", False), ("together", "batch", "1", "256", False),
     ("together", "learning_rate", "0.0000001", "0.01", True),
     ("together", "checkpoints", "1", "20", False)],
)  # fmt: skip
def test_numbers_are_number_inputs_with_the_backends_limits(
    backend: str, block: str, low: str, high: str, decimal: bool
) -> None:
    blocks = formed(backend=backend)
    element = blocks[block]["element"]
    assert element["type"] == "number_input" and blocks[block]["optional"] is True
    assert (element["min_value"], element["max_value"]) == (low, high)
    assert element["is_decimal_allowed"] is decimal
    dispatches = block == "epochs"  # the epochs change the estimate; the other numbers don't
    assert blocks[block].get("dispatch_action", False) is dispatches
    assert (element["action_id"] == ids.START_EPOCHS) is dispatches
    assert blocks["suffix"]["element"]["type"] == "plain_text_input"


def test_the_model_picker_and_the_epochs_dispatch_on_change() -> None:
    blocks = formed()
    assert blocks["model"]["dispatch_action"] is True
    assert blocks["model"]["element"]["action_id"] == ids.START_MODEL
    triggers = blocks["epochs"]["element"]["dispatch_action_config"]["trigger_actions_on"]
    assert set(triggers) == {"on_enter_pressed", "on_character_entered"}


@pytest.mark.parametrize(
    ("backend", "block", "typed", "shown"),
    [("openai", "epochs", "2", "2"), ("openai", "epochs", "02", "2"),
     ("openai", "epochs", "99", None), ("openai", "epochs", "0", None),
     ("openai", "epochs", "2.5", None), ("openai", "epochs", "٣", None),
     ("openai", "epochs", "<!channel>", None), ("openai", "epochs", "1e1", None),
     ("openai", "lr", "0.5", "0.5"), ("openai", "lr", "1e-5", None), ("openai", "lr", "nan", None),
     ("openai", "lr", "inf", None), ("openai", "seed", "-1", None), ("openai", "seed", "7", "7"),
     ("together", "learning_rate", "1e-5", "0.00001"), ("together", "learning_rate", "0.5", None),
     ("together", "checkpoints", "21", None), ("together", "checkpoints", "3", "3")],
)  # fmt: skip
def test_a_carried_number_is_shown_only_when_the_field_takes_it(
    backend: str, block: str, typed: str, shown: str | None
) -> None:
    element = formed(backend=backend, values={block: typed})[block]["element"]
    assert element.get("initial_value") == shown


def estimate_of(backend: str, **kw: Any) -> str:
    blocks = formed(backend=backend, **kw)
    return blocks[ESTIMATE_BLOCK]["text"]["text"] if ESTIMATE_BLOCK in blocks else ""


def test_the_estimate_line_for_each_way_a_backend_prices() -> None:
    mini = "gpt-4o-mini-2024-07-18"
    priced = dataclasses.replace(line(mini), epochs=5, cost_usd=0.0185)
    assert estimate_of("openai", estimate=priced, values={"epochs": "5"}) == (
        f"*Estimate*: `{mini}` · 1,234 tokens × 5 epochs · $0.02"
    )
    tiny = dataclasses.replace(line(mini), cost_usd=0.0004)
    assert estimate_of("openai", estimate=tiny).endswith("× 3 epochs (auto) · &lt; $0.01")
    azure = dataclasses.replace(
        line(mini), backend="azure", quoted=True, unpriced=True, cost_usd=0.0
    )
    text = estimate_of("openai", estimate=azure)
    assert text.endswith("price unknown (Azure OpenAI publishes no rate the bot can read)")
    assert "$" not in text
    uncounted = dataclasses.replace(line(LLAMA, quoted=True), billed_tokens_per_epoch=0, epochs=1)
    assert estimate_of("together", estimate=uncounted) == (
        f"*Estimate*: `{LLAMA}` · 1 epoch (auto) · Together AI quotes each job's price after the "
        "upload; the quote is shown in the job post"
    )
    why = "I have no token count of `drone.jsonl` for `gpt-4o-mini-2024-07-18`."
    assert estimate_of("openai", no_estimate=why) == f"*Estimate*: {why}"
    assert estimate_of("openai") == ""  # nothing known, nothing said


def test_data_no_model_of_the_backend_trains_gets_a_sentence_not_an_empty_picker() -> None:
    data = StartFormData(
        dataset=dataset("prompt_completion"), backend="openai", backends=BOTH, models=[],
        default_model=DEFAULTS["openai"], estimate=line("gpt-4o-mini-2024-07-18"),
    )  # fmt: skip
    view = start_form(data).to_dict()
    assert check_view(view) == [] and "model" not in blocks_by_id(view)
    assert ESTIMATE_BLOCK not in blocks_by_id(view)
    text = json.dumps(view)
    assert "No base model on OpenAI can be trained with prompt\\u2013completion" in text


@pytest.mark.parametrize(
    ("fmt", "method", "error"),
    [("chat", "dpo", "This dataset is chat data: it trains with Supervised (SFT)."),
     ("dpo", "supervised", "This dataset is preference pairs (DPO) data: it trains with "
      "Preference (DPO)."),
     ("dpo", "DPO", None), ("chat", "supervised", None), ("chat", "", None)],
)  # fmt: skip
def test_a_method_the_data_does_not_train_with_is_refused_on_the_method(
    fmt: str, method: str, error: str | None
) -> None:
    values = {"model": DEFAULTS["openai"], "method": method} if method else {}
    result = parse_submission(
        values=values, dataset="F1", backend="openai", configured=BOTH, default_backend="openai",
        default_models=DEFAULTS, today=TODAY, file_format=fmt,
    )  # fmt: skip
    if error is None:
        assert isinstance(result, Start) and result.method == (
            "dpo" if fmt == "dpo" else "supervised"
        )
    else:
        assert result == {"method": error}


@pytest.mark.parametrize(
    ("field", "backend", "block"),
    [("method", "openai", "method"), ("lr", "openai", "lr"), ("lr", "azure", "lr"),
     ("lr", "together", "learning_rate"), ("suffix", "together", "suffix"),
     ("validation", "openai", "validation"), ("checkpoints", "openai", "checkpoints"),
     ("training", "openai", "training"), ("model", "openai", "model"),
     (None, "openai", "model"), ("backend", "openai", "model"), ("<!x>", "openai", "model")],
)  # fmt: skip
def test_a_refusal_of_the_plan_is_shown_under_the_field_it_names(
    field: str | None, backend: str, block: str
) -> None:
    assert plan_error_block(UserError("no", field=field), backend) == block
