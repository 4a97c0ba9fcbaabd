"""docs/render_blocks.py: mrkdwn → HTML, Block Kit → HTML, hostile input stays inert."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_record import FORMAT, file_name, snapshot, write_recording

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_blocks", ROOT / "docs/render_blocks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_blocks"] = module
    spec.loader.exec_module(module)
    return module


rb = _load()
NAMES = rb.Names(
    users={"U1": "alice"},
    channels={"C1": "training"},
    now=datetime(2023, 11, 14, 23, 0, tzinfo=UTC),
)
STAMP = 1700000000  # 2023-11-14 22:13:20 UTC


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("* not bold *", "* not bold *"),
        ("*Checkpoints of `ftjob-1`*", "<b>Checkpoints of <code>ftjob-1</code></b>"),
        ("`*not bold* <@U1>`", '<code>*not bold* <span class="mention">@alice</span></code>'),
        ("```line 1\n*x*```", "<pre>line 1\n*x*</pre>"),
        ("a\nb", "a<br>b"),
        ("&gt; quoted\nafter", "<blockquote>quoted</blockquote>after"),
        (
            "<@U1> and <@U9|bob>",
            '<span class="mention">@alice</span> and <span class="mention">@bob</span>',
        ),
        (
            "<#C1> <#C7|random>",
            '<span class="mention">#training</span> <span class="mention">#random</span>',
        ),
        (
            "<!here> <!channel>",
            '<span class="mention here">@here</span> <span class="mention here">@channel</span>',
        ),
        (
            "<https://x.test/a?b=1&amp;c=2|the page>",
            '<a href="https://x.test/a?b=1&amp;c=2">the page</a>',
        ),
        ("<https://x.test>", '<a href="https://x.test">https://x.test</a>'),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 &lt; 2 &amp;&amp; 3 &gt; 2"),
        (":white_check_mark: done :unknown_thing:", "✅ done :unknown_thing:"),
        (
            f"<!date^{STAMP}^{{date_short}} at {{time}}|14 Nov 2023 22:13 UTC>",
            '<time class="date" title="fallback: 14 Nov 2023 22:13 UTC">Nov 14, 2023 at 22:13</time>',
        ),
        (
            f"<!date^{STAMP}^{{ago}}|x>",
            '<time class="date" title="fallback: x">46 minutes ago</time>',
        ),
        (
            f"<!date^{STAMP}^{{date_pretty}}|x>",
            '<time class="date" title="fallback: x">Today</time>',
        ),
        (
            "<!date^nonsense|fallback>",
            '<span class="bad" title="malformed date token">fallback</span>',
        ),
    ],
)
def test_mrkdwn(text: str, html: str) -> None:
    assert rb.mrkdwn(text, NAMES) == html


def test_dates_can_show_their_fallback() -> None:
    names = rb.Names(fallback_dates=True)
    out = rb.mrkdwn(f"<!date^{STAMP}^{{time}}|22:13 UTC>", names)
    assert ">22:13 UTC</time>" in out


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("{date_num} {time_secs}", "2023-11-14 22:13:20"),
        ("{date}", "November 14th, 2023"),
        ("{date_long}", "Tuesday, November 14th, 2023"),
        ("{time} ({ago})", "22:13 (46 minutes ago)"),
        ("{nope}", "{nope}"),
    ],
)
def test_render_date(fmt: str, shown: str) -> None:
    assert rb.render_date(STAMP, fmt, NAMES.now) == shown


HOSTILE = [
    "<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<javascript:alert(1)|click me>",
    '<https://x.test/" onmouseover="alert(1)|hover>',
    '<@U1|"><img src=x onerror=alert(1)>>',
    "```</pre><script>alert(1)</script>```",
    "`<img src=x onerror=alert(1)>`",
    '<!date^1^{time}^javascript:alert(1)|"><script>alert(1)</script>>',
    "*<script>*",
    "\x00 0\x00",
]


def _inert(out: str) -> None:
    lowered = out.lower()
    assert "<script" not in lowered and "<img" not in lowered
    assert "javascript:" not in re.findall(r'href="([^"]*)"', lowered).__str__()
    assert not re.search(r"<[a-z]+[^>]*\son\w+=", lowered), out


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_text(text: str) -> None:
    _inert(rb.mrkdwn(text, NAMES))
    _inert(rb.plain(text))


def test_hostile_blocks_stay_inert() -> None:
    evil = "<script>alert(1)</script>"
    blocks: list[Any] = [
        {"type": "header", "text": {"type": "plain_text", "text": evil}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": evil},
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": evil},
                "style": '"><script>',
                "url": "javascript:alert(1)",
            },
        },
        {"type": "image", "image_url": "javascript:alert(1)", "alt_text": evil},
        {"type": "image", "image_url": "https://evil.test/x.png", "alt_text": "x"},
        {"type": evil},
        {"type": "actions", "elements": [{"type": evil}, "not a dict"]},
        "not a block",
    ]
    out = rb.render_blocks(blocks, NAMES)
    _inert(out)
    assert "evil.test" not in re.findall(r'src="([^"]*)"', out).__str__()  # never loaded
    msg = {
        "text": evil,
        "user": evil,
        "attachments": [{"color": "red;background:url(x)", "text": evil}],
        "files": [{"id": "F1", "title": evil}],
        "reactions": [{"name": evil, "count": evil}],
    }
    _inert(rb.message_html(msg, NAMES))
    _inert(
        rb.view_html(
            {"type": "modal", "title": {"type": "plain_text", "text": evil}, "blocks": blocks},
            NAMES,
            label=evil,
        )
    )


def test_page_forbids_scripts_and_remote_loads() -> None:
    out = rb.page("<p>x</p>", title="</title><script>")
    assert "default-src 'none'" in out and "script-src" not in out
    assert "</title><script>" not in out


def test_block_kit_shapes() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Ready"}},
        {"type": "divider"},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Tokens*\n1"},
                {"type": "mrkdwn", "text": "*Cost*\n$1"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_small_"}]},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Go"},
                    "style": "primary",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Stop"},
                    "style": "danger",
                    "confirm": {},
                },
                {
                    "type": "static_select",
                    "placeholder": {"type": "plain_text", "text": "Pick"},
                    "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
                },
                {
                    "type": "overflow",
                    "options": [{"text": {"type": "plain_text", "text": "Status"}, "value": "s"}],
                },
            ],
        },
        {
            "type": "input",
            "optional": True,
            "label": {"type": "plain_text", "text": "Epochs"},
            "hint": {"type": "plain_text", "text": "1–50"},
            "element": {
                "type": "number_input",
                "is_decimal_allowed": False,
                "min_value": "1",
                "max_value": "50",
                "initial_value": "3",
            },
        },
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "Method"},
            "element": {
                "type": "radio_buttons",
                "initial_option": {"value": "sft"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Supervised"}, "value": "sft"},
                    {"text": {"type": "plain_text", "text": "DPO"}, "value": "dpo"},
                ],
            },
        },
    ]
    out = rb.render_blocks(blocks, NAMES)
    for part in (
        'class="block header">Ready',
        "<hr",
        'class="fields"',
        "<b>Tokens</b>",
        'class="block context"><i>small</i>',
        'class="button primary">Go',
        'class="button danger">Stop',
        "Pick ▾",
        "⋯<ul><li>Status</li>",
        "(optional)",
        'class="textinput">3',
        "1…50",
        "◉ Supervised",
        "○ DPO",
    ):
        assert part in out, part


def _recorded() -> dict[str, Any]:
    from slack_sdk import WebClient

    with FakeSlack() as slack:
        client = WebClient(base_url=slack.base_url, token=slack.bot_token)
        root = client.chat_postMessage(channel="C1", text="root <@U1>")
        reply = client.chat_postMessage(channel="C1", text="step 1", thread_ts=root["ts"])
        client.chat_update(channel="C1", ts=reply["ts"], text="*done*")
        client.chat_postMessage(
            channel="C1", text="outcome", thread_ts=root["ts"], reply_broadcast=True
        )
        client.chat_postEphemeral(channel="C1", user="U1", text="just for you")
        client.files_upload_v2(
            channel="C1",
            thread_ts=root["ts"],
            content=b"\x89PNG\r\n\x1a\n",
            filename="chart.png",
            title="Chart",
        )
        return snapshot(slack, "tests/x.py::test_y")


def test_a_recording_renders_threads_edits_ephemerals_and_files() -> None:
    data = _recorded()
    assert data["format"] == FORMAT and data["users"]["U1"] == "alice"
    assert [c["method"] for c in data["calls"]][:3] == ["chat.postMessage"] * 2 + ["chat.update"]
    out = rb.render_recording(json.loads(json.dumps(data)), rb.Names(), calls=True)
    assert "root " in out and "@alice" in out
    assert "3 replies" in out and "(edited ×1)" in out and "<b>done</b>" in out
    assert "also sent to the channel" in out and "only visible to alice" in out
    assert 'src="data:image/png;base64,' in out
    assert "Every call, in order" in out and "chat.update" in out


def test_loose_messages_and_views_render() -> None:
    loose = [
        {
            "channel": "C1",
            "text": "hello",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}],
        },
        {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Start"},
            "submit": {"type": "plain_text", "text": "Go"},
            "blocks": [],
        },
        {"view": {"type": "home", "blocks": [{"type": "divider"}]}},
    ]
    out = rb.render_recording(loose, NAMES)
    assert "<b>hi</b>" in out and 'class="view modal"' in out and 'button primary">Go' in out
    assert 'class="view home"' in out


def test_file_name_is_safe() -> None:
    assert file_name("tests/e2e/test_w.py::test_a[x/../y]") == "test_w__test_a_x_.._y_.json"
    assert "/" not in file_name("../../etc/passwd")


def test_cli_writes_html_and_asks_for_a_png(tmp_path: Path) -> None:
    with FakeSlack() as slack:
        from slack_sdk import WebClient

        WebClient(base_url=slack.base_url, token=slack.bot_token).chat_postMessage(
            channel="C1", text="*hello* <script>x</script>"
        )
        path = write_recording(slack, "t::u", tmp_path / "rec")
    shots: list[tuple[Path, Path]] = []
    code = rb.main(
        [str(path), "-o", str(tmp_path / "o.html"), "--png", str(tmp_path / "o.png")],
        shoot=lambda h, p: shots.append((h, p)),
    )
    assert code == 0 and shots == [(tmp_path / "o.html", tmp_path / "o.png")]
    html = (tmp_path / "o.html").read_text()
    assert "<b>hello</b>" in html and "<script>x" not in html
    (tmp_path / "bad.json").write_text("{not json")
    assert rb.main([str(tmp_path / "bad.json")]) == 2


@pytest.mark.skipif(rb.find_chromium() is None, reason="no Chromium (apt-get install chromium)")
def test_in_a_real_browser_no_script_runs_and_a_png_is_made(tmp_path: Path) -> None:
    import subprocess

    planted = "<script>document.body.setAttribute('data-ran', 'yes')</script>"
    body = (
        rb.mrkdwn("*hi* <script>document.body.setAttribute('data-ran', 'yes')</script>") + planted
    )
    page = tmp_path / "p.html"
    page.write_text(rb.page(body), encoding="utf-8")
    dom = subprocess.run(
        [
            rb.find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "<b>hi</b>" in dom and "data-ran" in dom  # the script text is there ...
    assert 'data-ran="yes"' not in dom  # ... and never ran, even the one planted raw
    rb.screenshot(page, tmp_path / "p.png", height=400)
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")
