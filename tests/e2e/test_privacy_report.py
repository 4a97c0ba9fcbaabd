"""Privacy scan end to end: a file with a planted e-mail, phone, card, IBAN and keys dropped in
Slack gets a "Ready · ⚠️" report naming each kind with its lines, and nothing it found is
echoed back: not in the report, not in the stored report, not in the logs."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_datasets import block_text, drop, reports

pytestmark = pytest.mark.db

EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"
OPENAI_KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6h"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PLANTED = (EMAIL, PHONE, CARD, IBAN, OPENAI_KEY, AWS_KEY, "Ab3dEf6h", "4111", "7946", "jane")


def planted_file() -> bytes:
    """12 examples: line 3 an e-mail and a phone, line 5 a card (at the start of the line, so
    any excerpt would show it), lines 7 and 11 keys, line 9 an IBAN; the rest clean, with
    near misses (a date, an order number failing Luhn, "risk-free", user@localhost)."""
    contents = {
        3: f"Mail me at {EMAIL} or call {PHONE}.",
        5: f"{CARD} is my card",
        7: f"my key is {OPENAI_KEY}",
        9: f"pay to {IBAN}",
        11: f"aws {AWS_KEY}",
    }
    rows = []
    for line in range(1, 13):
        user = contents.get(line, f"risk-free order 4111111111111112 on 2024-01-{line:02d}, "
                                  "ask user@localhost")  # fmt: skip
        rows.append(json.dumps({"messages": [
            {"role": "system", "content": "You are a support assistant."},
            {"role": "user", "content": user},
            {"role": "assistant", "content": f"Noted, ticket {line}."},
        ]}))  # fmt: skip
    return ("\n".join(rows) + "\n").encode()


def test_planted_private_data_is_reported_by_kind_and_line_and_never_echoed(
    bot: Bot, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    drop(bot, planted_file(), "support.jsonl")
    report = wait_for(lambda: reports(bot.slack), what="the report")[0]
    blocks = block_text(report)
    assert report["text"].startswith("Ready · ⚠️ 5 warnings: support.jsonl")
    for label, where in (
        ("Looks like an e-mail address", "line 3"),
        ("Looks like a phone number", "line 3"),
        ("Looks like a card number (passes the Luhn check)", "line 5"),
        ("Looks like a bank account number (IBAN, valid checksum)", "line 9"),
        ("Looks like a secret key or token", "2 examples (lines 7, 11)"),
    ):
        assert f"*{label}* — {where}" in blocks, label
    assert "revoke the key" in blocks
    assert '"action_id": "dataset_start"' in blocks  # warnings do not block a start

    # Nothing found is echoed anywhere the bot writes: Slack, the store, the logs.
    posted = json.dumps([c.params for c in bot.slack.calls], ensure_ascii=False, default=str)
    engine = create_engine(database_url)

    def stored() -> str | None:  # the report is stored just after it is posted
        with engine.connect() as db:
            rows = [list(r) for r in db.execute(text("SELECT * FROM datasets"))]
        dumped = json.dumps(rows, default=str)
        return dumped if '"pii_card' in dumped else None

    saved = wait_for(stored, what="the stored report")
    engine.dispose()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Looks like a card number" in posted  # the search below looks in the right place
    for secret in PLANTED:
        for where, seen in (("Slack", posted), ("store", saved), ("logs", logged)):
            assert secret not in seen, (secret, where)
