"""Privacy scan: personal data and secrets in an example's text. Pure: text in, kinds out.

Kinds (contract): pii_email, pii_phone, pii_card (passes the Luhn check), pii_iban (passes the
ISO 13616 mod-97 check at its country's length), secret_key (AWS, OpenAI, Slack and GitHub
tokens, private-key blocks). Only the kind is returned, never what matched: a found secret must
not travel further than this module.

Precision over recall: each kind is a precompiled regex run only when a cheap test says it can
match (an "@" for e-mails, a digit for numbers, a token prefix for secrets), and every candidate
is then checked (checksums, issuer prefixes, digit counts) so order numbers, timestamps, dates,
versions and ordinary words such as "risk-free" are not flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

EMAIL = "pii_email"
PHONE = "pii_phone"
CARD = "pii_card"
IBAN = "pii_iban"
SECRET = "secret_key"
KINDS = (EMAIL, PHONE, CARD, IBAN, SECRET)

# --- e-mail: found from each "@", the domain must end in a letters-only top-level domain --------
_AT_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))"
    r"(?![A-Za-z0-9_-]|\.[A-Za-z0-9])"
)
_LOCAL_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*\Z")
# Not addresses: local or reserved names, and file names such as icon@2x.png.
_NOT_TLDS = frozenset(
    {
        "localhost", "local", "invalid", "test", "example", "internal",
        "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "html", "htm",
    }
)  # fmt: skip

# --- numbers: cards, phones, IBANs (only looked for in text with a digit) ---------------------
_DIGIT = re.compile(r"[0-9]")
# Runs of 3+ digit groups separated by one space or dash (4111 1111 1111 1111), or one run.
_CARD = re.compile(r"(?<![\w.,+/=#-])[0-9]{3,19}(?:[ -][0-9]{3,19}){0,6}(?![\w]|[.,-][0-9])")
_PHONE = re.compile(
    r"""
    (?<![\w+.,/-])(?<![0-9][ -])           # not inside a longer number
    (?:
        # international: +44 20 7946 0958, +1 (555) 123-4567, +4915112345678
        (?P<intl>\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,8}+\)?){1,6})
        # North American with separators: (555) 123-4567, 555-123-4567, 555.123.4567
      | (?P<nanp>(?:\([2-9][0-9]{2}\)\ ?|[2-9][0-9]{2}(?P<sep>[ .-]))
           [0-9]{3}(?(sep)(?P=sep)|[ .-])[0-9]{4})
        # national with a trunk 0 and groups: 020 7946 0958, 06 12 34 56 78, not in an IBAN's
        # groups (NL91 ABNA 0417 1643 00) nor followed by more groups
      | (?<![A-Z0-9]{4}\ )(?P<trunk>\(?0[1-9][0-9]{0,3}\)?[ -][0-9]{2,8}(?:[ -][0-9]{2,4}){0,3}
           (?![ -][0-9]))
    )
    (?![\w]|[.,/-][0-9])
    """,
    re.VERBOSE,
)
_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{1,4}+){2,8}(?![a-z0-9])"
)
# ISO 13616 registry: the length of an IBAN per country.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# --- secrets: every alternative starts with its token's literal prefix and nothing else, so the
# regex engine skips ahead to those letters (a group or class first would make it 5× slower);
# boundaries and bodies are checked in Python, on the rare matches.
_SECRET = re.compile(
    r"AKIA[A-Z0-9]{16}|ASIA[A-Z0-9]{16}"  # AWS access key ids
    r"|sk-[A-Za-z0-9_-]{20,}"  # OpenAI: sk-…, sk-proj-…, sk-svcacct-…, sk-admin-…
    r"|xox[abpors]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"  # Slack
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{22,}"  # GitHub
    r"|-----BEGIN "  # a private-key block: _PRIVATE_KEY checks the rest
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[ \t\r]*"
    r"(?:\n[A-Za-z-]+:[^\n]*)*\s*[A-Za-z0-9+/]{12}"  # optional headers (Proc-Type: …), body
)
# An AWS secret access key given with its name: aws_secret_access_key = "…40 characters…"
_AWS_SECRET = re.compile(
    r"(?<![A-Za-z0-9])(?:aws_?secret_?(?:access_?)?key|secretaccesskey)[\"']?\s*[:=]\s*[\"']?"
    r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
    re.IGNORECASE,
)
_OPENAI_KINDS = ("proj-", "svcacct-", "admin-")
_SEGMENTS = re.compile(r"[A-Za-z0-9]{16,}")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


# What an example's JSON may hold, from its bytes (one translate and two memchr): bit flags.
LOOK_EMAIL = 1
LOOK_NUMBERS = 2  # at least 8 digits: a phone, card or IBAN may be there
LOOK_SECRETS = 4  # a digit (every token has some), or a private-key block
LOOK_ALL = LOOK_EMAIL | LOOK_NUMBERS | LOOK_SECRETS
_DIGIT_BYTES = b"0123456789"
# A run of digits with separators, 8+ characters: where phones, cards and IBANs are looked for.
_NUMBERISH = re.compile(r"[0-9][0-9 ().-]{6,}[0-9]")
_SEPARATORS = str.maketrans("", "", " ().-")


def look_for(raw: bytes) -> int:
    """Which kinds an example may hold, from its JSON (keys included): LOOK_* flags, 0 when
    nothing private can be in it. Cheap enough to run on every example."""
    look = LOOK_EMAIL if b"@" in raw else 0
    digits = len(raw) - len(raw.translate(None, _DIGIT_BYTES))
    if digits:
        look |= LOOK_SECRETS
        if digits >= 8:
            look |= LOOK_NUMBERS
    elif b"-" in raw and b"-----BEGIN" in raw:
        look |= LOOK_SECRETS
    return look


def scan(text: str, found: set[str] | None = None, look: int = LOOK_ALL) -> set[str]:
    """The kinds of private data in `text`, added to `found` (kinds already there are not
    looked for again) and returned. `look`: which families to look for (LOOK_* flags)."""
    found = set() if found is None else found
    if look & LOOK_EMAIL and EMAIL not in found and "@" in text and has_email(text):
        found.add(EMAIL)
    if look & LOOK_SECRETS and SECRET not in found and has_secret(text):
        found.add(SECRET)
    if look & LOOK_NUMBERS and not {CARD, PHONE, IBAN} <= found:
        _scan_numbers(text, found)
    return found


def _scan_numbers(text: str, found: set[str]) -> None:
    """Cards, phones and IBANs, each looked for only around a run of digits of its size."""
    for match in _NUMBERISH.finditer(text):
        digits = len(match.group().translate(_SEPARATORS))
        if digits < 8:  # dates, times, versions
            continue
        start, end = match.span()
        # the checks see what comes before the run ("+", "(", an IBAN's letters) and 2
        # characters after it (their boundaries)
        before = max(0, start - 1)
        if digits >= 13 and CARD not in found and has_card(text, before, end + 2):
            found.add(CARD)
        if (
            (digits >= 10 or text[before:start] == "+")
            and PHONE not in found
            and has_phone(text, before, end + 2)
        ):
            found.add(PHONE)
        lead = text[max(0, start - 10) : start]
        if (
            IBAN not in found
            and lead != lead.lower()
            and has_iban(text, start - len(lead), end + 42)
        ):
            found.add(IBAN)
        if {CARD, PHONE, IBAN} <= found:
            return


def contents(example: dict[str, Any], file_format: str) -> list[str]:
    """The text an example trains on: message contents (a string, or a list's text parts),
    DPO preferred/non-preferred outputs, prompt and completion. Never keys or tool calls."""
    if file_format == "prompt_completion":
        return [v for v in (example.get("prompt"), example.get("completion")) if type(v) is str]
    texts: list[str] = []
    if file_format == "dpo":
        source = example.get("input")
        messages = source.get("messages") if type(source) is dict else None
        for key in ("preferred_output", "non_preferred_output"):
            if type(example.get(key)) is list:
                _message_texts(example[key], texts)
    else:
        messages = example.get("messages")
    if type(messages) is list:
        _message_texts(messages, texts)
    return texts


def _message_texts(messages: Iterable[Any], texts: list[str]) -> None:
    for message in messages:
        if type(message) is not dict:
            continue
        content = message.get("content")
        if type(content) is str:
            texts.append(content)
        elif type(content) is list:
            for part in content:
                if type(part) is dict and type(part.get("text")) is str:
                    texts.append(part["text"])


def scan_example(example: dict[str, Any], file_format: str, look: int = LOOK_ALL) -> set[str]:
    """The kinds of private data in an example's text (one pass over its joined contents)."""
    texts = contents(example, file_format)
    if not texts:
        return set()
    return scan("\n".join(texts), look=look)  # no check matches across a line break


def has_email(text: str) -> bool:
    """An address: a local part, "@", and a domain ending in a real-looking top-level domain."""
    for match in _AT_DOMAIN.finditer(text):
        if match.group(2).lower() in _NOT_TLDS:
            continue
        at = match.start()
        if _LOCAL_PART.search(text, max(0, at - 64), at) is not None:
            return True
    return False


def has_card(text: str, pos: int = 0, endpos: int | None = None) -> bool:
    """A payment card number: 13–19 digits (groups split by spaces or dashes) with a known
    issuer prefix and length, passing the Luhn check."""
    for match in _CARD.finditer(text, pos, _end(text, endpos)):
        groups = re.split("[ -]", match.group())
        if len(groups) == 1 and len(groups[0]) > 16:  # long ids; 19-digit cards come grouped
            continue
        for start in range(len(groups)):  # a card may sit among other numbers (expiry, CVC)
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and card_number(digits):
                    return True
    return False


def card_number(digits: str) -> bool:
    """`digits` is shaped like a card number of a known issuer and passes the Luhn check."""
    n = len(digits)
    head = int(digits[:4])
    known = (
        (digits[0] == "4" and n in (13, 16, 19))  # Visa
        or (digits[:2] in ("34", "37") and n == 15)  # American Express
        or ((5100 <= head <= 5599 or 2221 <= head <= 2720) and n == 16)  # Mastercard
        or (digits[:2] in ("36", "38", "39") and 14 <= n <= 19)  # Diners Club
        or (300 <= head // 10 <= 305 and 14 <= n <= 19)  # Diners Club
        or (3528 <= head <= 3589 and 16 <= n <= 19)  # JCB
        or (digits[0] == "6" and 16 <= n <= 19)  # Discover, UnionPay, Maestro, RuPay
        or (digits[:2] in ("50", "56", "57", "58") and 13 <= n <= 19)  # Maestro
    )
    return known and len(set(digits)) > 1 and luhn(digits)  # not 0000…, 4444…


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i & 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def has_phone(text: str, pos: int = 0, endpos: int | None = None) -> bool:
    """A phone number: international (+country, 8–15 digits), North American with separators
    ((555) 123-4567, 555-123-4567), or national with a trunk 0 and groups (020 7946 0958)."""
    for match in _PHONE.finditer(text, pos, _end(text, endpos)):
        form = "intl" if match["intl"] else "trunk" if match["trunk"] else "nanp"
        if phone_number(match.group(), form):
            return True
    return False


def phone_number(candidate: str, form: str) -> bool:
    """A candidate of `form` ("intl", "nanp", "trunk") has a phone number's digits."""
    digits = sum(c.isdigit() for c in candidate)
    if form == "nanp":
        return True
    if form == "trunk":
        return 10 <= digits <= 11
    if not 8 <= digits <= 15:
        return False
    groups = re.findall("[0-9]+", candidate)
    if len(groups) == 1:  # +4915112345678: no separators, so a longer run
        return digits >= 10
    # "+100 000 000" is a number grouped in thousands, not a phone
    return not all(len(g) == 3 for g in groups[1:]) or "(" in candidate or "-" in candidate


def has_iban(text: str, pos: int = 0, endpos: int | None = None) -> bool:
    """An IBAN (compact or in groups of four) of its country's length with a valid checksum."""
    found = _IBAN_CANDIDATE.finditer(text, pos, _end(text, endpos))
    return any(iban(match.group()) for match in found)


def iban(candidate: str) -> bool:
    """`candidate` starts with an IBAN: its country's length (whole groups), mod 97 == 1."""
    length = IBAN_LENGTHS.get(candidate[:2])
    if length is None:
        return False
    compact = candidate.replace(" ", "")
    if len(compact) < length:
        return False
    # the IBAN must end where a group ends: "DE89 3704 … 00 1234" is the IBAN, then a number
    taken, end = 0, 0
    while taken < length:
        if candidate[end] != " ":
            taken += 1
        end += 1
    if end < len(candidate) and candidate[end] != " ":
        return False
    code = compact[4:length] + compact[:4]
    return int("".join(str(int(c, 36)) for c in code)) % 97 == 1


def has_secret(text: str) -> bool:
    """An access token or key: AWS key ids and secret keys, OpenAI, Slack and GitHub tokens,
    private-key blocks. Token bodies must look random (digits among letters), not like words:
    "risk-free", "sk-learn" or "task-list-for-the-quarterly-review" are not keys."""
    for match in _SECRET.finditer(text):
        start, end = match.span()
        if start and text[start - 1] in _ALNUM:  # inside a word: "risk-…", "desk-…"
            continue
        token = match.group()
        if token.startswith("-----"):
            if _PRIVATE_KEY.match(text, start):
                return True
        elif token.startswith(("AKIA", "ASIA")):
            if text[end : end + 1] not in _ALNUM and _has_digit(token):
                return True
        elif token.startswith("sk-"):
            body = token[3:]
            body = next((body[len(k) :] for k in _OPENAI_KINDS if body.startswith(k)), body)
            if any(_random_looking(s) for s in _SEGMENTS.findall(body)):
                return True
        elif _has_digit(token[4:]):  # Slack and GitHub tokens carry digits
            return True
    return ("ecret" in text or "ECRET" in text) and _AWS_SECRET.search(text) is not None


def _random_looking(segment: str) -> bool:
    return _has_digit(segment) and not segment.isdigit()


def _has_digit(text: str) -> bool:
    return _DIGIT.search(text) is not None


def _end(text: str, endpos: int | None) -> int:
    return len(text) if endpos is None else min(endpos, len(text))
