"""`finetune-bot validate` reports the privacy scan: kinds and lines in the text report and in
--json's warnings, never what was found (not on stdout, not on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bot.test_cli import run

EMAIL = "jane.doe@example.com"
CARD = "5555 5555 5555 4444"
IBAN = "DE89370400440532013000"
PHONE = "+44 20 7946 0958"
SLACK = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----"


def planted(tmp_path: Path) -> Path:
    contents = {2: f"{EMAIL} wrote", 4: f"card {CARD}", 6: f"IBAN {IBAN}",
                8: f"token {SLACK}", 10: f"key:\n{PEM}", 12: f"call me on {PHONE}"}  # fmt: skip
    rows = []
    for i in range(1, 14):
        user = contents.get(i, f"question {i}, v1.2.3 on 2024-05-{i:02d}")
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": f"a {i}"}]
        rows.append(json.dumps({"messages": messages}))
    path = tmp_path / "planted.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_validate_text_and_json_name_kinds_and_lines_only(tmp_path: Path) -> None:
    path = planted(tmp_path)
    text = run("validate", str(path), tmp_path=tmp_path)
    assert text.returncode == 0, text.stderr  # warnings do not fail validation
    assert text.stdout.startswith("planted.jsonl: READY · 5 WARNINGS")
    for row in (
        "! Looks like an e-mail address — line 2  [pii_email]",
        "! Looks like a card number (passes the Luhn check) — line 4  [pii_card]",
        "! Looks like a bank account number (IBAN, valid checksum) — line 6  [pii_iban]",
        "! Looks like a secret key or token — 2 examples (lines 8, 10)  [secret_key]",
    ):
        assert row in text.stdout, row
    assert "[pii_phone]" in text.stdout and "— line 12  [pii_phone]" in text.stdout

    out = run("validate", str(path), "--json", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    private = {k: v for k, v in report["warnings"].items() if k.startswith(("pii_", "secret"))}
    assert private == {
        "pii_email": {"count": 1, "lines": [2]},
        "pii_card": {"count": 1, "lines": [4]},
        "pii_iban": {"count": 1, "lines": [6]},
        "secret_key": {"count": 2, "lines": [8, 10]},
        "pii_phone": {"count": 1, "lines": [12]},  # dates and versions elsewhere are not phones
    }
    assert report["verdict"] == "ready_with_warnings"
    assert set(private) <= set(report["serious_warnings"])
    assert all(report["details"][k]["excerpt"] is None for k in private)
    for found in (EMAIL, "jane", CARD, "5555", IBAN, "DE89", SLACK, "AbCdEf", KEY_BODY[:12],
                  PHONE, "7946"):  # fmt: skip
        for stream in (text.stdout, text.stderr, out.stdout, out.stderr):
            assert found not in stream, found
