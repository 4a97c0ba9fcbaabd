"""Privacy scan rules (bot/core/privacy.py): what is flagged, and the near misses that are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core import privacy
from bot.core.issue_words import ISSUE_LABELS, PRIVATE_KINDS, issue_line
from bot.core.models import resolve_model
from bot.core.privacy import card_number, iban, look_for, luhn, scan, scan_example
from bot.core.reports import WARNING_TEXT, IssueSummary
from bot.core.validation import analyze
from tests.conftest import TODAY

MINI = resolve_model("gpt-4o-mini")

# Well-known test values (no real person's data): card numbers from the issuers' test ranges,
# IBANs from the registry's examples, AWS's documented example key id.
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6h"
SLACK = "xoxb-" + "1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GITHUB = "ghp_" + "1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # e-mail
        ("write to jane.doe@example.com today", {"pii_email"}),
        ("<mailto:a.b+tag@mail.example.co.uk|mail>", {"pii_email"}),
        ("user@localhost is the default", set()),
        ("name@host.local, x@y.invalid, a@b.test", set()),
        ("the icon@2x.png asset and logo@3x.svg", set()),
        ("npm i @types/node; @channel hi; pip install pkg@1.2.3", set()),
        ("@john said a@b", set()),
        # phone
        ("call +1 (555) 123-4567 now", {"pii_phone"}),
        ("call +44 20 7946 0958", {"pii_phone"}),
        ("+33 6 12 34 56 78", {"pii_phone"}),
        ("whatsapp +4915112345678", {"pii_phone"}),
        ("(555) 123-4567", {"pii_phone"}),
        ("555-123-4567 or 555.123.4567", {"pii_phone"}),
        ("ring 020 7946 0958", {"pii_phone"}),
        ("version 1.2.3.4567 and 10.15.7", set()),
        ("on 2024-01-15 at 10:30:00, or 01/02/2024", set()),
        ("dates 2024-01-15 2024-02-16", set()),
        ("IP 192.168.100.200 and 255.255.255.255", set()),
        ("ISBN 978-3-16-148410-0", set()),
        ("grew +100 000 000 users; +1 000 000 points", set()),
        ("score 3+4=7, +5 points, +1.5%", set()),
        ("part 123-456-7890-12", set()),
        ("order 5551234567 shipped", set()),
        ("01-02-2024 10-11", set()),
        # card
        ("card 4111 1111 1111 1111 exp 12/25", {"pii_card"}),
        ("card 4111-1111-1111-1111", {"pii_card"}),
        ("visa 4012888888881881", {"pii_card"}),
        ("amex 3782 822463 10005", {"pii_card"}),
        ("mc 5555555555554444.", {"pii_card"}),
        ("order 123 4111 1111 1111 1111 thanks", {"pii_card"}),
        ("order 4111111111111112", set()),  # fails Luhn
        ("ts 1700000000000000 and 1712345678901234", set()),  # timestamps, no issuer
        ("tracking 9400 1000 0000 0000 0000 00", set()),
        ("id 4111111111111111111111", set()),  # too long
        ("0000 0000 0000 0000", set()),
        ("v4111.1111.1111.1111", set()),
        # IBAN
        ("IBAN DE89 3704 0044 0532 0130 00 please", {"pii_iban"}),
        ("pay to GB82WEST12345698765432", {"pii_iban"}),
        ("NL91 ABNA 0417 1643 00", {"pii_iban"}),
        ("IBAN DE89 3704 0044 0532 0130 01 please", set()),  # bad checksum
        ("GB82WEST12345698765433", set()),
        ("DE89370400440532013000123", set()),  # too long for Germany
        ("XX89 3704 0044 0532 0130 00", set()),  # no such country
        ("SKU AB12 3456 7890 1234 5678", set()),
        # secrets
        (f"key {AWS_ID}", {"secret_key"}),
        (f"aws_secret_access_key = {AWS_SECRET}", {"secret_key"}),
        (f'"AWS_SECRET_ACCESS_KEY": "{AWS_SECRET}"', {"secret_key"}),
        (f"OPENAI_API_KEY={OPENAI}", {"secret_key"}),
        ("sk-1234567890abcdef1234567890abcdef", {"secret_key"}),
        (f"token {SLACK}", {"secret_key"}),
        ("xapp-1-A0123456789-1234567890123-abcdef0123456789", {"secret_key"}),
        (f"token {GITHUB}", {"secret_key"}),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789", {"secret_key"}),
        (f"here:\n{PEM}\n-----END RSA PRIVATE KEY-----", {"secret_key"}),
        ("a risk-free, task-list driven, disk-based plan for 2024", set()),
        ("sk-learn and sk-2024-planning-document-v2-final", set()),
        ("sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", set()),  # no digits: not random
        ("ASIAPACIFICSALESTEAM wins in 2024", set()),
        ("a PEM file starts with -----BEGIN PRIVATE KEY----- then ...", set()),
        ("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", set()),
        ("xoxb-not-a-token-at-all", set()),
        ("the secret is 42 and aws_secret_key is unset", set()),
        # several at once
        ("mail a@b.io, card 4111 1111 1111 1111", {"pii_email", "pii_card"}),
    ],
)  # fmt: skip
def test_scan(text: str, kinds: set[str]) -> None:
    assert scan(text) == kinds
    # the cheap first look never hides what the scan finds
    assert scan(text, look=look_for(text.encode())) == kinds


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("79927398710", False),
        ("0", True),
        ("378282246310005", True),
    ],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn(digits) is ok


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("4222222222222", True),  # Visa, 13 digits
        ("6011111111111117", True),  # Discover
        ("3530111333300000", True),  # JCB
        ("30569309025904", True),  # Diners Club
        ("2223003122003222", True),  # Mastercard 2-series
        ("1234567812345670", False),  # passes Luhn, no issuer starts with 1
        ("4111111111111", False),  # Visa prefix, fails Luhn
        ("37828224631000", False),  # Amex is 15 digits
    ],
)
def test_card_number(digits: str, ok: bool) -> None:
    assert card_number(digits) is ok


@pytest.mark.parametrize(
    ("candidate", "ok"),
    [
        ("GB82WEST12345698765432", True),
        ("GB82 WEST 1234 5698 7654 32", True),
        ("NO9386011117947", True),  # the shortest: Norway, 15
        ("FR1420041010050500013M02606", True),
        ("BE68539007547034", True),
        ("GB82WEST12345698765423", False),  # two digits swapped
        ("GB82WEST1234569876543", False),  # too short
        ("GB82 WEST 1234 5698 7654 3210", False),  # the IBAN would end inside a group
        ("ZZ82WEST12345698765432", False),
    ],
)
def test_iban(candidate: str, ok: bool) -> None:
    assert iban(candidate) is ok


def test_iban_lengths_cover_the_registry() -> None:
    assert len(privacy.IBAN_LENGTHS) >= 89
    assert all(15 <= n <= 34 for n in privacy.IBAN_LENGTHS.values())


@pytest.mark.parametrize(
    ("example", "file_format", "kinds"),
    [
        ({"messages": [{"role": "user", "content": "a@b.io"}]}, "chat", {"pii_email"}),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "x a@b.io"}]}]},
            "chat",
            {"pii_email"},
        ),
        # keys, names and tool calls are not scanned, only what the model reads as content
        ({"messages": [{"role": "user", "content": "hi", "name": "a@b.io"}]}, "chat", set()),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"function": {"name": "f", "arguments": '{"to": "a@b.io"}'}}
                        ],
                    }
                ]
            },
            "chat",
            set(),
        ),
        ({"a@b.io": "x", "messages": []}, "chat", set()),
        (
            {
                "input": {"messages": [{"role": "user", "content": "hi"}]},
                "preferred_output": [{"role": "assistant", "content": "mail a@b.io"}],
                "non_preferred_output": [{"role": "assistant", "content": f"{AWS_ID}"}],
            },
            "dpo",
            {"pii_email", "secret_key"},
        ),
        ({"prompt": "card 4111 1111 1111 1111", "completion": "ok"}, "prompt_completion",
         {"pii_card"}),
        # contents are joined by line breaks: no number is read across two messages
        (
            {
                "messages": [
                    {"role": "user", "content": "4111 1111"},
                    {"role": "assistant", "content": "1111 1111"},
                ]
            },
            "chat",
            set(),
        ),
    ],
)  # fmt: skip
def test_scan_example(example: dict, file_format: str, kinds: set[str]) -> None:
    assert scan_example(example, file_format) == kinds


@pytest.mark.parametrize(
    ("raw", "look"),
    [
        (b'{"messages":[{"content":"plain words only","role":"user"}]}', 0),
        (b'{"messages":[{"content":"a@b","role":"user"}]}', privacy.LOOK_EMAIL),
        (b'{"messages":[{"content":"7 days","role":"user"}]}', privacy.LOOK_SECRETS),
        (b'{"c":"12345678"}', privacy.LOOK_SECRETS | privacy.LOOK_NUMBERS),
        (b'{"c":"-----BEGIN EC PRIVATE KEY-----"}', privacy.LOOK_SECRETS),
    ],
)
def test_look_for(raw: bytes, look: int) -> None:
    assert look_for(raw) == look


def test_hostile_text_stays_fast() -> None:
    """Long runs that almost match cost linear time, not a backtracking blow-up."""
    import time

    text = (
        ("a" * 5000 + "@") * 40
        + "1 " * 50_000
        + "sk-" * 30_000
        + "DE89 " * 20_000
        + ("DE89" + "ABCD" * 8 + "x ") * 2000
        + ("+" + "1" * 60 + " ") * 2000
        + ("-----BEGIN PRIVATE KEY-----" + "a:" * 40 + "!\n") * 500
        + "4" * 100_000
        + ("1." * 30 + " ") * 2000
    )
    start = time.perf_counter()
    assert scan(text) == set()
    assert time.perf_counter() - start < 5


# --- in the validation pass -------------------------------------------------------------------


def chat(content: str, reply: str = "Noted.") -> str:
    return json.dumps({"messages": [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": content},
                                    {"role": "assistant", "content": reply}]})  # fmt: skip


def test_the_report_counts_examples_and_lines_per_kind_and_quotes_none(tmp_path: Path) -> None:
    rows = [chat(f"plain question {i}", f"answer {i}") for i in range(30)]
    for i in (3, 8, 20):  # at the start of the line: an excerpt would show it
        rows[i] = chat("4111 1111 1111 1111 mail jane@example.com", f"noted {i}")
    rows[12] = chat(f"{AWS_ID} and {OPENAI}")  # two secrets: one example
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(rows) + "\n")
    report = analyze(path, model=MINI, today=TODAY)
    assert {k: (s.count, s.lines) for k, s in report.warnings.items()} == {
        "pii_card": (3, (4, 9, 21)),
        "pii_email": (3, (4, 9, 21)),
        "secret_key": (1, (13,)),
    }
    assert report.valid and report.verdict == "ready_with_warnings"
    assert set(report.serious_warnings) == {"pii_card", "pii_email", "secret_key"}
    for kind, summary in report.warnings.items():
        assert summary.excerpt is None
        line = issue_line(kind, summary, report.examples)
        assert line.excerpt is None and line.first is None and line.serious and line.hint
    as_json = json.dumps(report.to_json())
    assert report.to_json()["warnings"]["pii_card"] == {"count": 3, "lines": [4, 9, 21]}
    assert "4111" not in as_json and "jane" not in as_json and AWS_ID not in as_json


def test_private_kinds_are_never_quoted_even_with_an_excerpt() -> None:
    for kind in PRIVATE_KINDS:
        line = issue_line(kind, IssueSummary(2, (4, 9), "4111 1111 1111 1111"), 30)
        assert (line.excerpt, line.first) == (None, None)
        assert line.label.startswith("Looks like") and line.where == "2 examples (lines 4, 9)"
        assert kind in ISSUE_LABELS and kind in WARNING_TEXT and line.serious


def test_dpo_outputs_and_undecided_shapes_are_scanned(tmp_path: Path) -> None:
    pair = {
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "preferred_output": [{"role": "assistant", "content": "write to a@b.io"}],
        "non_preferred_output": [{"role": "assistant", "content": f"use {GITHUB}"}],
    }
    rows = [json.dumps({"x": i}) for i in range(3)]  # no known shape: kept until one is seen
    rows += [json.dumps(pair)] * 12
    path = tmp_path / "dpo.jsonl"
    path.write_text("\n".join(rows) + "\n")
    report = analyze(path, model=MINI, today=TODAY)
    assert report.format == "dpo"
    assert report.warnings["pii_email"].count == 12
    assert report.warnings["secret_key"].lines[:2] == (4, 5)


def test_a_large_file_is_scanned_in_the_same_pass(tmp_path: Path) -> None:
    """Over 1 MiB the token counts run on threads: the scan stays in the reading pass."""
    rows = [chat("word " * 200 + str(i)) for i in range(1200)]
    rows[1100] = chat("word " * 200 + "ring +1 (555) 123-4567")
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(rows) + "\n")
    assert path.stat().st_size > 1 << 20
    report = analyze(path, model=MINI, today=TODAY)
    assert [(k, s.lines) for k, s in report.warnings.items() if k in PRIVATE_KINDS] == [
        ("pii_phone", (1101,))
    ]
