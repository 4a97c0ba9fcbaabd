"""The content check as the channel reads it: the button on every report, the result (flagged
lines and categories, never the text; provider words escaped), the partial answer and the
pointer a second click gets."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.message import say
from bot.core.models import resolve_model
from bot.core.moderation import Flag
from bot.core.validation import analyze
from bot.services.content_text import pointer_text, progress_text, result_text, stored_result
from handlers import ids
from handlers.blocks.moderation import pointer_text as with_link
from handlers.blocks.report import dataset_report_blocks
from handlers.text import render
from storage.content_checks import ContentCheckRecord
from tests.conftest import TODAY, shared

MODEL = "omni-moderation-latest"


def buttons(blocks: list) -> list[str]:
    return [
        element["action_id"]
        for block in (b.to_dict() for b in blocks)
        if block["type"] == "actions"
        for element in block["elements"]
    ]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("toy_chat_fine_tuning.jsonl", [ids.DATASET_MODERATE]),  # needs fixes: still checkable
        (
            "drone_training.jsonl",
            [ids.DATASET_START, ids.DATASET_UPLOAD, ids.DATASET_SPLIT, ids.DATASET_MODERATE],
        ),
    ],
)
def test_every_report_has_the_check_content_button(sample: str, expected: list[str]) -> None:
    report = analyze(shared(sample), model=resolve_model("gpt-4o-mini"), today=TODAY)
    blocks = dataset_report_blocks(name="d.jsonl", report=report, file_id="F123")
    assert buttons(blocks) == expected
    check = next(b for b in (x.to_dict() for x in blocks) if b["type"] == "actions")["elements"][-1]
    assert (check["text"]["text"], check["value"]) == ("Check content", "F123")


def result(**kw: object) -> str:
    base: dict[str, object] = {
        "model": MODEL, "total": 400, "checked": 400, "skipped": 0, "flags": [],
        "flagged_count": 0, "unit": "line",
    }  # fmt: skip
    base.update(kw)
    return render(result_text("<!here> d.jsonl", **base))  # type: ignore[arg-type]


def test_nothing_flagged() -> None:
    text = result()
    assert text == (
        "✅ Content check of `&lt;!here&gt; d.jsonl`: No example was flagged "
        "(400 checked with `omni-moderation-latest`)."
    )
    assert "3 examples were not checked" in result(skipped=3, checked=397)
    assert "1 example was not checked" in result(skipped=1, checked=399)
    assert "no example has any text to check" in result(total=0, checked=0, skipped=2)


def test_flagged_lines_with_categories_and_the_rest_counted() -> None:
    flags = [Flag(n, ("violence",) if n % 2 else ("hate", "<!channel>")) for n in range(1, 91)]
    text = result(flags=flags, flagged_count=90)
    assert "90 of 400 examples flagged by `omni-moderation-latest`" in text
    assert "• line 1: violence\n• line 2: hate, &lt;!channel&gt;\n" in text
    assert "• line 25: violence\n• …and 65 more examples (lines 26, 27," in text
    assert "65, …)" in text and "66" not in text.split("…and")[1].split(")")[0]
    assert "*By category:* &lt;!channel&gt; 45 · hate 45 · violence 45" in text
    assert "<!channel>" not in text
    assert len(text) < 3000
    items = result(flags=[Flag(7, ("sexual",))], flagged_count=1, unit="item")
    assert "• item 7: sexual" in items


def test_a_stopped_check_says_what_it_found_and_how_to_retry() -> None:
    error = say("OpenAI is rate-limiting requests")
    text = result(checked=64, flags=[Flag(3, ("violence",))], flagged_count=1, error=error)
    assert text.startswith(
        "⚠️ Content check of `&lt;!here&gt; d.jsonl` stopped after 64 of 400 examples: "
        "OpenAI is rate-limiting requests.\nFlagged so far (1)"
    )
    assert "• line 3: violence" in text
    assert text.endswith("Click *Check content* on the report to try again.")
    none = result(checked=0, error=say("Bad key."))
    assert "examples: Bad key.\nNothing was flagged" in none


def record(**kw: object) -> ContentCheckRecord:
    base: dict[str, object] = {
        "id": 1, "dataset_id": 1, "sha256": "abc", "model": MODEL, "status": "done",
        "requester_id": "U1", "channel_id": "C1", "message_ts": "1.2", "total": 103,
        "checked": 103, "skipped": 0, "flagged_count": 2,
        "flagged": ((5, ("violence",)), (40, ("hate",))), "unit": "line", "error": None,
        "updated_at": dt.datetime(2026, 12, 10, tzinfo=dt.UTC),
    }  # fmt: skip
    base.update(kw)
    return ContentCheckRecord(**base)  # type: ignore[arg-type]


def test_pointer_and_stored_result() -> None:
    done = render(pointer_text("d.jsonl", record()))
    assert done == (
        "`d.jsonl` was already checked with `omni-moderation-latest`: "
        "2 of 103 examples were flagged."
    )
    clean = render(pointer_text("d.jsonl", record(flagged_count=0, flagged=())))
    assert clean.endswith("no example was flagged (103 checked).")
    running = render(pointer_text("d.jsonl", record(status="running", checked=32)))
    assert (
        running == "`d.jsonl` is being checked (32/103 so far): the result will be in its thread."
    )
    link = "https://t.slack.com/archives/C1/p12"
    assert with_link(pointer_text("d.jsonl", record()), link).endswith(f" <{link}|Open it>")
    assert "<" not in with_link(pointer_text("<x>", record()), "")
    assert "• line 40: hate" in render(stored_result("d.jsonl", record()))
    progress = render(progress_text("d.jsonl", model=MODEL, done=120, total=400))
    assert progress == (
        "🔎 Content check of `d.jsonl` with `omni-moderation-latest`: Checked 120/400 examples…"
    )
