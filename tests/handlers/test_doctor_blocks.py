"""The dataset doctor's buttons on a report and Fix's drop-or-trim choice (pure builders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.models import resolve_model
from bot.core.validation import analyze
from handlers import ids
from handlers.blocks.doctor import fix_choice_blocks
from handlers.blocks.report import doctor_buttons
from tests.conftest import TODAY

MINI = resolve_model("gpt-4o-mini")
TOGETHER = resolve_model("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "together")
GOOD = '{"messages": [{"role": "user", "content": "q%d"}, {"role": "assistant", "content": "a"}]}'
START, UPLOAD, SPLIT, FIX = (
    ids.DATASET_START,
    ids.DATASET_UPLOAD,
    ids.DATASET_SPLIT,
    ids.DATASET_FIX,
)


@pytest.mark.parametrize(
    ("lines", "model", "expected"),
    [
        ([GOOD % i for i in range(12)], MINI, [START, UPLOAD, SPLIT]),
        ([GOOD % i for i in range(10)], MINI, [START, UPLOAD]),  # the training part: too few
        ([GOOD % i for i in range(2)], TOGETHER, [START, UPLOAD, SPLIT]),  # Together takes 1
        ([GOOD % i for i in range(12)] + [GOOD % 0], MINI, [START, UPLOAD, SPLIT, FIX]),
        ([GOOD % i for i in range(12)] + ["{oops"], MINI, [FIX]),
        ([GOOD % i for i in range(3)], MINI, []),  # too few: Fix cannot add examples
        (["\x00binary"], MINI, []),
    ],
)
def test_report_buttons(
    tmp_path: Path, lines: list[str], model: object, expected: list[str]
) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines))
    report = analyze(path, model=model, today=TODAY)  # type: ignore[arg-type]
    buttons = doctor_buttons(report, "F1")
    assert [b.action_id for b in buttons] == expected
    assert all(b.value == "F1" for b in buttons)


def test_fix_choice_offers_drop_and_trim_with_the_name_escaped() -> None:
    blocks, text = fix_choice_blocks(name="a`<!channel>.jsonl", file_id="F9", over_limit=3)
    assert "3 examples over the model's token limit" in text and "<!channel>" not in text
    actions = blocks[1].to_dict()["elements"]
    assert [a["action_id"] for a in actions] == [ids.DATASET_FIX_MODE] * 2
    assert [json.loads(a["value"]) for a in actions] == [
        {"f": "F9", "m": "drop"},
        {"f": "F9", "m": "trim"},
    ]
