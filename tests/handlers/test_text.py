"""handlers.text: untrusted text is inert in Slack mrkdwn; only the bot writes mentions."""

from __future__ import annotations

import pytest

from handlers.text import (
    BACKTICK,
    CODE_LIMIT,
    channel,
    clip,
    code,
    escape,
    from_inert_value,
    inert_value,
    plain,
    pre,
    quote,
    user,
)
from tests.inert import check_inert

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123|@team>",
    "<@U123>",
    "<#C123>",
    "<https://evil.example|click>",
    "<mailto:a@evil.example|mail>",
    "x` <!channel> <https://evil.example|login> `y.jsonl",
    "```\n<!here>\n```",
    "&lt;!channel&gt;",
    "a\n<!channel>\nb",
]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("<!everyone>", "&lt;!everyone&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<#C123>", "&lt;#C123&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("&lt;", "&amp;lt;"),  # already-escaped text is shown as typed, not decoded
        ("AT&T", "AT&amp;T"),
        ("`code` *bold* _it_ ~st~ 'q' \"q\"", "`code` *bold* _it_ ~st~ 'q' \"q\""),
        ("a\nb", "a\nb"),
        ("", ""),
    ],
)
def test_escape_follows_slacks_rule_exactly(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "span"),
    [
        ("drone.jsonl", "`drone.jsonl`"),
        ("x` <!channel> `y", f"`x{BACKTICK} &lt;!channel&gt; {BACKTICK}y`"),
        ("```", f"`{BACKTICK * 3}`"),
        ("a\nb\r\nc\td", "`a b c d`"),
        ("<@U123>", "`&lt;@U123&gt;`"),
        ("&amp;", "`&amp;amp;`"),
        ("", "_(blank)_"),
        (" \n ", "_(blank)_"),
    ],
)
def test_code_spans_cannot_be_broken_out_of(raw: str, span: str) -> None:
    assert code(raw) == span


@pytest.mark.parametrize("raw", HOSTILE)
def test_every_helper_leaves_hostile_text_inert(raw: str) -> None:
    for rendered in (escape(raw), code(raw), pre(raw), quote(raw), escape(raw, limit=7)):
        check_inert(rendered)
    span = code(raw)
    assert span.count("`") == 2 and span.startswith("`") and span.endswith("`")
    assert "\n" not in span
    block = pre(raw)
    assert block.startswith("```") and block.endswith("```") and block.count("`") == 6


def test_long_values_are_shortened_without_cutting_an_entity() -> None:
    long = "<" * 5000
    span = code(long)
    assert len(span) <= CODE_LIMIT + 2 and span.endswith("…`")
    assert span[1:-2].replace("&lt;", "") == ""  # whole entities only
    for limit in range(1, 40):
        cut = escape("a&b<c>d" * 10, limit=limit)
        assert len(cut) <= limit
        body = cut.removesuffix("…")
        assert body == "a&amp;b&lt;c&gt;d" * 10 or body.count("&") == body.count(";")
    assert len(pre("x" * 10_000, limit=2900)) <= 2900
    assert len(quote("line\n" * 2000, limit=1000)) <= 1000
    assert clip("short", 10) == "short" and clip("abcdef", 4) == "abc…"


def test_quote_quotes_every_line_and_pre_keeps_lines() -> None:
    assert quote("one\n<!here>\r\nthree") == ">one\n>&lt;!here&gt;\n>three"
    assert pre("a ```b```\n<c>") == f"```a {BACKTICK * 3}b{BACKTICK * 3}\n&lt;c&gt;```"


def test_plain_text_is_one_line_within_the_limit() -> None:
    assert plain("a\nb\tc", limit=75) == "a b c"
    assert plain("<!channel>", limit=75) == "<!channel>"  # plain_text is not parsed by Slack
    assert len(plain("x" * 500, limit=75)) == 75


@pytest.mark.parametrize(
    ("given", "mention"),
    [
        ("U123ABC", "<@U123ABC>"),
        ("W0ENTERPRISE", "<@W0ENTERPRISE>"),
        ("U1", "<@U1>"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("U1> <!here", "U1&gt; &lt;!here"),
        ("u123", "u123"),
        ("", ""),
        ("U" + "1" * 40, "U" + "1" * 40),
    ],
)
def test_user_mentions_only_user_ids(given: str, mention: str) -> None:
    assert user(given) == mention


@pytest.mark.parametrize(
    ("given", "link"),
    [
        ("C123ABC", "<#C123ABC>"),
        ("G0PRIVATE", "<#G0PRIVATE>"),
        ("D024BE91L", "<#D024BE91L>"),
        ("C1|evil", "C1|evil"),
        ("<!everyone>", "&lt;!everyone&gt;"),
        ("all", "all"),
    ],
)
def test_channel_links_only_conversation_ids(given: str, link: str) -> None:
    assert channel(given) == link


@pytest.mark.parametrize("raw", [*HOSTILE, "ft:gpt-4o:acme::ckpt-step-9", "evil/<!channel>-`x`"])
def test_button_values_are_inert_and_read_back_exactly(raw: str) -> None:
    value = inert_value(raw)
    assert "<" not in value and ">" not in value
    assert from_inert_value(value) == raw
    assert from_inert_value("ft:gpt-4o:acme::ckpt-step-9") == "ft:gpt-4o:acme::ckpt-step-9"
