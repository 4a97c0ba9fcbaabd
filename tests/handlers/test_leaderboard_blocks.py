"""The leaderboard's blocks, as a table: place, backend, kind, scores, win rate, training cost,
inference price (unknown: said so, never $0), the channel's model marked, Use this model only where the viewer
may choose it, hostile names inert, and the empty board's next step."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.core.evaluation import Price
from bot.core.leaderboard import Standing
from bot.services.leaderboard import Board
from handlers import ids
from handlers.blocks.leaderboard import USE, leaderboard_blocks, price_text, row_text
from storage.repositories import DatasetRecord
from tests.inert import check_payload

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
EVIL = "ft:x:<!channel>:`y`:<https://evil.example|login>"


def dataset(name: str = "sums.jsonl") -> DatasetRecord:
    return DatasetRecord(
        id=1, slack_file_id="F1", channel_id="C1", thread_ts="1.0", uploader_id="U1", name=name,
        size_bytes=10, sha256=None, format="chat", examples=12, total_tokens=345, valid=True,
        report=None, status="reported", error=None, report_ts=None, created_at=NOW,
    )  # fmt: skip


def standing(model: str, **kw: object) -> Standing:
    values: dict[str, object] = {
        "backend": "openai", "fine_tuned": True, "examples": 10, "exact": 4, "normalised": 6,
    }  # fmt: skip
    values.update(kw)
    return Standing(model=model, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "needles"),
    [
        (
            standing("ft:a", training_usd=0.3, price=Price(0.3, 1.2)),
            ["*1.* `ft:a` — OpenAI, fine-tuned", "normalised 60% (6/10) · exact 40% (4/10)",
             "training $0.30 · inference $0.30 in / $1.20 out per 1M tokens"],
        ),
        (
            standing("org/m", backend="together", training_usd=1.23),
            ["Together AI, fine-tuned", "training $1.23 · inference price unknown"],
        ),
        (
            standing("gpt-4o-mini", fine_tuned=False, price=Price(0.15, 0.6)),
            ["OpenAI, base", "no training (base model) · inference $0.15 in / $0.60 out"],
        ),
        (standing("ft:a"), ["training cost unknown · inference price unknown"]),  # never $0
        (
            standing("ft:a", win_rate=0.75, opponent="gpt-4o-mini"),
            ["win rate 75% vs `gpt-4o-mini`"],
        ),
        (standing("ft:a", chosen=True), ["✅ *chosen for this channel*"]),
        (standing("ft:a", price=Price(0.001, 0.004)), ["$0.0010 in / $0.0040 out"]),
        # a training cost reads as the job's status message says it, in cents
        (standing("ft:a", training_usd=0.003), ["training &lt; $0.01 ·"]),
    ],
)  # fmt: skip
def test_row_text(row: Standing, needles: list[str]) -> None:
    text = row_text(1, row)
    for needle in needles:
        assert needle in text, (needle, text)


@pytest.mark.parametrize(
    ("row", "button"),
    [
        (standing("ft:a", may_choose=True), True),
        (standing("ft:a", may_choose=False), False),  # not its owner or an admin
        (standing("ft:a", may_choose=True, chosen=True), False),  # already the channel's
        (standing("gpt-4o-mini", fine_tuned=False, may_choose=True), False),  # a base model
    ],
)
def test_use_this_model_only_where_it_may_be_chosen(row: Standing, button: bool) -> None:
    blocks, _ = leaderboard_blocks(Board(dataset(), [row], None))
    accessory = blocks[1].to_dict().get("accessory")
    assert (accessory is not None) is button
    if accessory:
        assert accessory["action_id"] == ids.CHECKPOINT_CHOOSE and accessory["value"] == "ft:a"
        assert accessory["text"]["text"] == USE


def test_board_order_title_notes_and_fallback() -> None:
    rows = [standing("ft:b", normalised=9), standing("ft:a"), standing("base", fine_tuned=False)]
    blocks, text = leaderboard_blocks(Board(dataset(), rows, "ft:b", hidden=2))
    payload = [b.to_dict() for b in blocks]
    assert payload[0]["text"]["text"] == "🏆 *Leaderboard* for `sums.jsonl`: 5 models, best first"
    assert [b["text"]["text"][:4] for b in payload[1:4]] == ["*1.*", "*2.*", "*3.*"]
    notes = payload[-1]["elements"][0]["text"]
    assert "Ranked by normalised match" in notes and "2 more not shown." in notes
    assert text == "Leaderboard for sums.jsonl: best ft:b (normalised 90% (9/10))"


def test_an_empty_board_says_how_to_fill_it() -> None:
    blocks, text = leaderboard_blocks(Board(dataset("a<b>.jsonl"), [], None))
    assert len(blocks) == 1 and "No model has been evaluated on `a&lt;b&gt;.jsonl`" in text
    assert "`/finetune eval &lt;model&gt; F1`" in text and "holdout=20%" in text
    assert check_payload({"text": text, "blocks": [b.to_dict() for b in blocks]}) >= 2


def test_hostile_names_stay_inert() -> None:
    rows = [standing(EVIL, may_choose=True, win_rate=0.5, opponent=EVIL)]
    blocks, text = leaderboard_blocks(Board(dataset(EVIL), rows, None))
    payload = {"text": text, "blocks": [b.to_dict() for b in blocks]}
    assert check_payload(payload) >= 3
    assert "<!channel>" not in json.dumps(payload)


def test_price_text() -> None:
    assert price_text(None) == "inference price unknown"
    assert price_text(Price(2.5, 10.0)) == "inference $2.50 in / $10.00 out per 1M tokens"
