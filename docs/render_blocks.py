"""Render what the bot posts to Slack as an HTML page (and a PNG) close to Slack's look.

Usage::

    FTBOT_RECORD_SLACK=/tmp/rec .venv/bin/pytest -q tests/e2e/test_watch.py -k success
    python docs/render_blocks.py /tmp/rec/test_watch__test_a_job_from_start_to_success.json \\
        -o /tmp/thread.html --png /tmp/thread.png

Input: a recording written by the e2e tests (``tests/fakes/slack_record.py``), or any JSON
holding Slack messages/views: one object with ``blocks`` (or ``text``), a ``view``, or a list
of them (e.g. ``chat.postMessage`` params pasted from a log). Output: one self-contained HTML
page (no script, a Content-Security-Policy that forbids any, nothing loaded from the network)
showing each conversation as it ends, threads expanded, then ephemerals, the answers to slash
commands, modals and Home tabs; ``--calls`` adds every message/view call in the order the bot
made them (each edit separately).
``--fallback`` shows ``<!date^…>`` tokens as their fallback text (what a notification shows).
``--png`` screenshots the page with headless Chromium (``apt-get install chromium``).

Everything in the input is treated as hostile: text is escaped, links are kept only for
http(s)/mailto, images only as inline data from the recording.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Names", "mrkdwn", "page", "plain", "render_blocks", "render_date", "render_recording"]


@dataclass
class Names:
    """Display names for mentions; ``now`` anchors ``{date_pretty}``/``{ago}`` (default: now)."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    now: datetime | None = None
    fallback_dates: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too: the result may sit in an attribute)."""
    return html.escape(str(value), quote=True)


def _unslack(text: str) -> str:
    """Slack's own entities (``&amp; &lt; &gt;``) back to characters, before HTML escaping."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_SAFE_URL = re.compile(r"^(?:https?://|mailto:)[^\s\"'<>]*$", re.IGNORECASE)


def safe_url(url: str) -> str | None:
    """`url` if it is http(s)/mailto (anything else, e.g. ``javascript:``, is dropped)."""
    url = _unslack(url.strip())
    return url if _SAFE_URL.match(url) else None


# -- dates ----------------------------------------------------------------------------------


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            words = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {words}" if future else f"{words} ago"
    return "in a few seconds" if future else "a few seconds ago"


def render_date(stamp: int, fmt: str, now: datetime | None = None) -> str:
    """Slack's ``<!date^stamp^fmt|…>`` as a reader in UTC sees it (24-hour clock)."""
    moment = datetime.fromtimestamp(stamp, UTC)
    now = now or datetime.now(UTC)

    def pretty(long: str) -> str:
        days = (now.date() - moment.date()).days
        return {0: "Today", 1: "Yesterday", -1: "Tomorrow"}.get(days, long)

    date = f"{moment:%B} {_ordinal(moment.day)}, {moment.year}"
    date_short = f"{moment:%b} {moment.day}, {moment.year}"
    date_long = f"{moment:%A}, {date}"
    tokens = {
        "date_num": f"{moment:%Y-%m-%d}",
        "date": date,
        "date_short": date_short,
        "date_long": date_long,
        "date_pretty": pretty(date),
        "date_short_pretty": pretty(date_short),
        "date_long_pretty": pretty(date_long),
        "time": f"{moment:%H:%M}",
        "time_secs": f"{moment:%H:%M:%S}",
        "ago": _ago(moment, now),
    }
    return re.sub(r"\{(\w+)\}", lambda m: tokens.get(m.group(1), m.group(0)), fmt)


# -- mrkdwn ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"<([^<>\n]+)>")
_CODE_OR_TOKEN = re.compile(r"`([^`\n]+)`|<([^<>\n]+)>")
_EMOJI = {
    "white_check_mark": "✅",
    "x": "❌",
    "warning": "⚠️",
    "rocket": "🚀",
    "hourglass_flowing_sand": "⏳",
    "tada": "🎉",
    "star": "⭐",
    "stop_button": "⏹",
    "eyes": "👀",
    "chart_with_upwards_trend": "📈",
    "robot_face": "🤖",
    "heavy_check_mark": "✔️",
    "no_entry": "⛔",
    "information_source": "ℹ️",
    "bulb": "💡",
    "moneybag": "💰",
}
_FORMATS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "s"),
]


def _special(inner: str, names: Names) -> str:
    """One ``<…>`` token as HTML (already escaped)."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        name = names.users.get(uid) or label or uid
        return f'<span class="mention">@{esc(name)}</span>'
    if target.startswith("#"):
        cid = target[1:]
        name = names.channels.get(cid) or label or cid
        return f'<span class="mention">#{esc(name)}</span>'
    if target.startswith("!date^"):
        parts = target.split("^")
        fallback = _unslack(label)
        try:
            stamp, fmt = int(parts[1]), _unslack(parts[2])
        except (IndexError, ValueError):
            return f'<span class="bad" title="malformed date token">{esc(fallback or inner)}</span>'
        shown = fallback if names.fallback_dates else render_date(stamp, fmt, names.now)
        link = safe_url(parts[3]) if len(parts) > 3 else None
        out = f'<time class="date" title="fallback: {esc(fallback)}">{esc(shown)}</time>'
        return f'<a href="{esc(link)}">{out}</a>' if link else out
    if target.startswith("!subteam^"):
        return f'<span class="mention">{esc(label or "@group")}</span>'
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return f'<span class="mention here">@{esc(word)}</span>'
    url = safe_url(target)
    if url is None:  # not a link Slack would make: show what was written
        return esc("<" + _unslack(inner) + ">")
    return f'<a href="{esc(url)}">{esc(_unslack(label) if label else url)}</a>'


def _inline(text: str, names: Names) -> str:
    """Escaped HTML for one line of mrkdwn: `code`, tokens, emphasis (which may span code and
    tokens, as in Slack), emoji."""
    out: list[str] = []
    keep: list[str] = []  # rendered code and tokens, put back after emphasis is applied

    def hold(fragment: str) -> str:
        keep.append(fragment)
        return f"\x00{len(keep) - 1}\x00"

    pos = 0
    for match in _CODE_OR_TOKEN.finditer(text):
        out.append(esc(_unslack(text[pos : match.start()]).replace("\x00", "")))
        if match.group(1) is not None:
            out.append(hold(f"<code>{_code_span(match.group(1), names)}</code>"))
        else:
            out.append(hold(_special(match.group(2), names)))
        pos = match.end()
    out.append(esc(_unslack(text[pos:]).replace("\x00", "")))
    result = "".join(out)
    for pattern, tag in _FORMATS:
        result = pattern.sub(lambda m, tag=tag: f"<{tag}>{m.group(1)}</{tag}>", result)
    result = re.sub(r":([a-z0-9_+-]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), result)
    return re.sub(r"\x00(\d+)\x00", lambda m: keep[int(m.group(1))], result)


def _code_span(text: str, names: Names) -> str:
    """Inside code: no emphasis, but Slack still resolves ``<…>`` tokens."""
    out, pos = [], 0
    for match in _TOKEN.finditer(text):
        out.append(esc(_unslack(text[pos : match.start()])))
        out.append(_special(match.group(1), names))
        pos = match.end()
    out.append(esc(_unslack(text[pos:])))
    return "".join(out)


def _lines(text: str, names: Names) -> str:
    """Inline code and block quotes over a run of text without ``` blocks."""
    rendered: list[str] = []
    quote: list[str] = []

    def line_html(line: str) -> str:
        return _inline(line, names)

    def flush() -> None:
        if quote:
            rendered.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote.clear()

    for line in text.split("\n"):
        quoted = re.match(r"^(?:>|&gt;) ?(.*)$", line)
        if quoted:
            quote.append(line_html(quoted.group(1)))
            continue
        flush()
        rendered.append(line_html(line) + "<br>")
    flush()
    html_out = "".join(rendered)
    return html_out[:-4] if html_out.endswith("<br>") else html_out


def mrkdwn(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn as escaped HTML: *bold* _italic_ ~strike~ `code` ```pre``` > quote, links,
    mentions, ``<!date^…>`` (with the fallback as a tooltip), emoji shortcodes."""
    names = names or Names()
    parts = re.split(r"```(.*?)```", text, flags=re.DOTALL)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre>{_code_span(part.strip(chr(10)), names)}</pre>")
        elif part:
            out.append(_lines(part, names))
    return "".join(out)


def plain(text: str) -> str:
    """plain_text: escaped, newlines kept, emoji shortcodes shown."""
    result = esc(text).replace("\n", "<br>")
    return re.sub(r":([a-z0-9_+-]+):", lambda m: _EMOJI.get(m.group(1), m.group(0)), result)


def text_object(obj: Any, names: Names) -> str:
    """A Block Kit text object (``{"type": "mrkdwn"|"plain_text", "text": …}``) or a string."""
    if isinstance(obj, str):
        return plain(obj)
    if not isinstance(obj, dict):
        return ""
    value = str(obj.get("text", ""))
    return mrkdwn(value, names) if obj.get("type") == "mrkdwn" else plain(value)


# -- blocks ---------------------------------------------------------------------------------


def _image(element: dict[str, Any], css: str) -> str:
    """Remote images are never loaded: a labelled placeholder (alt text) instead."""
    alt = esc(element.get("alt_text") or element.get("title", {}).get("text") or "image")
    url = safe_url(str(element.get("image_url") or ""))
    where = f" · {esc(url)}" if url else ""
    return f'<span class="{css} placeholder" title="{alt}{where}">🖼 {alt}</span>'


def _option_text(option: Any, names: Names) -> str:
    return text_object(option.get("text"), names) if isinstance(option, dict) else ""


def element_html(element: Any, names: Names) -> str:
    """An interactive or context element."""
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        style = element.get("style")
        css = "button" + (f" {style}" if style in ("primary", "danger") else "")
        confirm = (
            ' <span class="confirm" title="asks to confirm">⚠︎</span>'
            if element.get("confirm")
            else ""
        )
        url = safe_url(str(element.get("url") or ""))
        link = " ↗" if url else ""
        return (
            f'<span class="{css}">{text_object(element.get("text"), names)}{link}{confirm}</span>'
        )
    if kind in ("static_select", "external_select", "multi_static_select"):
        initial = element.get("initial_option") or {}
        label = _option_text(initial, names) or text_object(element.get("placeholder"), names)
        options = element.get("options") or [
            o for g in element.get("option_groups") or [] for o in g.get("options") or []
        ]
        listed = " · ".join(_option_text(o, names) for o in options[:12])
        return f'<span class="select" title="{esc(re.sub("<[^>]+>", "", listed))}">{label} ▾</span>'
    if kind in ("users_select", "conversations_select", "channels_select"):
        return f'<span class="select">{text_object(element.get("placeholder"), names) or "Select"} ▾</span>'
    if kind == "overflow":
        items = "".join(f"<li>{_option_text(o, names)}</li>" for o in element.get("options") or [])
        return f'<span class="overflow">⋯<ul>{items}</ul></span>'
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = element.get("initial_value")
        shown = esc(value) if value is not None else text_object(element.get("placeholder"), names)
        limits = ""
        if kind == "number_input":
            lo, hi = element.get("min_value"), element.get("max_value")
            limits = f'<span class="limits">{esc(lo or "")}…{esc(hi or "")}</span>'
        css = "textarea" if element.get("multiline") else "textinput"
        muted = "" if value is not None else " muted"
        return f'<span class="{css}{muted}">{shown}</span>{limits}'
    if kind in ("radio_buttons", "checkboxes"):
        chosen = element.get("initial_option") or {}
        chosen_list = element.get("initial_options") or ([chosen] if chosen else [])
        values = {o.get("value") for o in chosen_list if isinstance(o, dict)}
        mark = ("◉", "○") if kind == "radio_buttons" else ("☑", "☐")
        rows = []
        for option in element.get("options") or []:
            on = mark[0] if option.get("value") in values else mark[1]
            desc = option.get("description")
            extra = f'<div class="muted small">{text_object(desc, names)}</div>' if desc else ""
            rows.append(f'<div class="choice">{on} {_option_text(option, names)}{extra}</div>')
        return "".join(rows)
    if kind == "datepicker":
        return f'<span class="select">📅 {esc(element.get("initial_date") or "Pick a date")}</span>'
    if kind == "image":
        return _image(element, "thumb")
    if kind in ("mrkdwn", "plain_text"):
        return text_object(element, names)
    return f'<span class="unknown">[{esc(kind)}]</span>'


def block_html(block: Any, names: Names) -> str:
    """One layout block."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "section":
        body = (
            f'<div class="text">{text_object(block.get("text"), names)}</div>'
            if block.get("text")
            else ""
        )
        fields = block.get("fields") or []
        if fields:
            cells = "".join(f"<div>{text_object(f, names)}</div>" for f in fields)
            body += f'<div class="fields">{cells}</div>'
        accessory = block.get("accessory")
        side = f'<div class="accessory">{element_html(accessory, names)}</div>' if accessory else ""
        return f'<div class="block section"><div class="main">{body}</div>{side}</div>'
    if kind == "context":
        items = " ".join(element_html(e, names) for e in block.get("elements") or [])
        return f'<div class="block context">{items}</div>'
    if kind == "header":
        return f'<div class="block header">{text_object(block.get("text"), names)}</div>'
    if kind == "divider":
        return '<hr class="block divider">'
    if kind == "actions":
        items = " ".join(element_html(e, names) for e in block.get("elements") or [])
        return f'<div class="block actions">{items}</div>'
    if kind == "input":
        optional = ' <span class="muted">(optional)</span>' if block.get("optional") else ""
        label = f'<div class="label">{text_object(block.get("label"), names)}{optional}</div>'
        hint = block.get("hint")
        hint_html = f'<div class="hint">{text_object(hint, names)}</div>' if hint else ""
        element = element_html(block.get("element"), names)
        return f'<div class="block input">{label}<div>{element}</div>{hint_html}</div>'
    if kind == "image":
        title = block.get("title")
        title_html = f'<div class="muted small">{text_object(title, names)}</div>' if title else ""
        return f'<div class="block image">{title_html}{_image(block, "picture")}</div>'
    if kind == "rich_text":
        return f'<div class="block">{plain(_rich_text_plain(block))}</div>'
    return f'<div class="block unknown">[{esc(kind)} block]</div>'


def _rich_text_plain(node: Any) -> str:
    if isinstance(node, dict):
        if "text" in node and isinstance(node["text"], str):
            return node["text"]
        return "".join(_rich_text_plain(e) for e in node.get("elements") or [])
    return ""


def render_blocks(blocks: Any, names: Names | None = None) -> str:
    """A list of blocks as HTML."""
    names = names or Names()
    if not isinstance(blocks, list):
        return ""
    return "".join(block_html(b, names) for b in blocks)


# -- messages, views, pages -----------------------------------------------------------------


def _clock(ts: Any) -> str:
    try:
        return f"{datetime.fromtimestamp(float(ts), UTC):%H:%M:%S}"
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def message_html(msg: dict[str, Any], names: Names, *, badge: str = "") -> str:
    """One message: author, time, badges, blocks (or text), attachments, files, reactions."""
    user = str(msg.get("user") or "")
    is_bot = bool(msg.get("bot_id")) or user == "UBOT"
    author = "Finetune Bot" if is_bot else names.users.get(user, user or "someone")
    tags = ' <span class="app">APP</span>' if is_bot else ""
    edits = int(msg.get("edit_count") or 0)
    edited = f' <span class="muted small">(edited ×{edits})</span>' if edits else ""
    extra = f' <span class="badge">{esc(badge)}</span>' if badge else ""
    if msg.get("reply_broadcast"):
        extra += ' <span class="badge">also sent to the channel</span>'
    blocks = msg.get("blocks")
    body = (
        render_blocks(blocks, names)
        if blocks
        else f'<div class="text">{mrkdwn(str(msg.get("text") or ""), names)}</div>'
    )
    for attachment in msg.get("attachments") or []:
        if isinstance(attachment, dict):
            color = str(attachment.get("color") or "#ddd")
            color = (
                color if re.fullmatch(r"#?[0-9A-Fa-f]{3,8}|good|warning|danger", color) else "#ddd"
            )
            color = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}.get(color, color)
            color = color if color.startswith("#") else "#" + color
            inner = render_blocks(attachment.get("blocks"), names) or mrkdwn(
                str(attachment.get("text") or ""), names
            )
            body += f'<div class="attachment" style="border-color:{esc(color)}">{inner}</div>'
    for file in msg.get("files") or []:
        body += _file_html(file, names)
    reactions = msg.get("reactions") or []
    if reactions:
        chips = " ".join(
            f'<span class="reaction">{_EMOJI.get(str(r.get("name")), ":" + esc(r.get("name")) + ":")} {esc(r.get("count", 1))}</span>'
            for r in reactions
            if isinstance(r, dict)
        )
        body += f'<div class="reactions">{chips}</div>'
    avatar = "🤖" if is_bot else esc(author[:1].upper())
    return (
        f'<div class="message"><div class="avatar">{avatar}</div><div class="content">'
        f'<div class="meta"><b>{esc(author)}</b>{tags} <span class="muted small">{_clock(msg.get("ts"))}</span>'
        f"{edited}{extra}</div>{body}</div></div>"
    )


def _file_html(file: Any, names: Names) -> str:
    if not isinstance(file, dict):
        return ""
    fid = str(file.get("id") or "")
    recorded = names.files.get(fid) or {}
    title = esc(file.get("title") or file.get("name") or recorded.get("title") or "file")
    mimetype = str(recorded.get("mimetype") or file.get("mimetype") or "")
    data = recorded.get("data")
    if (
        data
        and mimetype in ("image/png", "image/jpeg", "image/gif")
        and re.fullmatch(r"[A-Za-z0-9+/=\s]+", data)
    ):
        return f'<div class="file"><div class="muted small">{title}</div><img class="upload" alt="{title}" src="data:{mimetype};base64,{data}"></div>'
    return f'<div class="file filecard">📄 {title} <span class="muted small">{esc(file.get("pretty_type") or mimetype)}</span></div>'


def view_html(view: Any, names: Names, *, label: str) -> str:
    """A modal (title, blocks, Cancel/Submit) or a Home tab."""
    if not isinstance(view, dict):
        return ""
    if view.get("type") == "home":
        return f'<div class="view home"><div class="viewtitle">🏠 Home · {esc(label)}</div>{render_blocks(view.get("blocks"), names)}</div>'
    title = text_object(view.get("title"), names)
    submit = view.get("submit")
    close = view.get("close") or {"type": "plain_text", "text": "Cancel"}
    buttons = f'<span class="button">{text_object(close, names)}</span>'
    if submit:
        buttons += f' <span class="button primary">{text_object(submit, names)}</span>'
    return (
        f'<div class="view modal"><div class="viewtitle">{title} <span class="muted small">{esc(label)}</span></div>'
        f'<div class="viewbody">{render_blocks(view.get("blocks"), names)}</div>'
        f'<div class="viewfoot">{buttons}</div></div>'
    )


def _conversation_html(cid: str, messages: list[dict[str, Any]], names: Names) -> str:
    roots = [m for m in messages if not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")]
    out = [
        f'<h2>#{esc(names.channels.get(cid, cid))} <span class="muted small">{esc(cid)}</span></h2>'
    ]
    for root in roots:
        out.append(message_html(root, names))
        replies = [m for m in messages if m.get("thread_ts") == root.get("ts") and m is not root]
        if replies:
            out.append(
                f'<div class="thread"><div class="threadhead">{len(replies)} repl{"y" if len(replies) == 1 else "ies"}</div>'
            )
            out.extend(message_html(m, names) for m in replies)
            out.append("</div>")
    return "".join(out)


def _call_html(call: dict[str, Any], names: Names) -> str:
    params = call.get("params") or {}
    method = str(call.get("method") or "")
    status = "" if call.get("ok", True) else f" ✗ {call.get('error')}"
    where = " ".join(
        f"{k}={params[k]}" for k in ("channel", "thread_ts", "ts", "user") if params.get(k)
    )
    head = f'<div class="callhead">{esc(method)} <span class="muted small">{esc(where)}{esc(status)}</span></div>'
    if method.startswith("views."):
        body = view_html(params.get("view"), names, label=method)
    elif method == "files.completeUploadExternal":
        files = params.get("files") if isinstance(params.get("files"), list) else []
        body = mrkdwn(str(params.get("initial_comment") or ""), names) + "".join(
            _file_html(f, names) for f in files
        )
    elif method == "chat.delete":
        body = '<div class="muted">(message deleted)</div>'
    else:
        msg = {**params, "user": "UBOT", "bot_id": "BBOT", "ts": call.get("ts")}
        msg.pop("reply_broadcast", None)
        badge = (
            "only visible to " + names.users.get(str(params.get("user")), str(params.get("user")))
            if method == "chat.postEphemeral"
            else ""
        )
        body = message_html(msg, names, badge=badge)
    return f'<div class="call">{head}{body}</div>'


def render_recording(data: Any, names: Names | None = None, *, calls: bool = False) -> str:
    """The body of the page for a recording, or for loose messages/views."""
    names = names or Names()
    if isinstance(data, dict) and "conversations" in data:
        names.users = {**data.get("users", {}), **names.users}
        names.channels = {**data.get("channels", {}), **names.channels}
        names.files = {**data.get("files", {}), **names.files}
        out = [f"<h1>{esc(data.get('test') or 'recording')}</h1>"]
        for cid, messages in (data.get("conversations") or {}).items():
            out.append(_conversation_html(cid, messages, names))
        ephemerals = data.get("ephemerals") or []
        if ephemerals:
            out.append("<h2>Ephemeral messages</h2>")
            for entry in ephemerals:
                who = names.users.get(str(entry.get("user")), str(entry.get("user")))
                msg = {**entry, "user": "UBOT", "bot_id": "BBOT", "ts": entry.get("message_ts")}
                out.append(
                    message_html(
                        msg,
                        names,
                        badge=f"only visible to {who} · in {names.channels.get(str(entry.get('channel')), entry.get('channel'))}",
                    )
                )
        answers = data.get("answers") or []
        if answers:
            out.append("<h2>Answers to slash commands</h2>")
            for entry in answers:
                who = names.users.get(str(entry.get("user")), str(entry.get("user")))
                shown = "only visible to " + who
                if entry.get("response_type") == "in_channel":
                    shown = "in the channel"
                msg = {**entry, "user": "UBOT", "bot_id": "BBOT", "ts": None}
                out.append(
                    message_html(msg, names, badge=f"{who}: {entry.get('command')} · {shown}")
                )
        recorded = data.get("calls") or []
        modals = [
            c
            for c in recorded
            if str(c.get("method")) in ("views.open", "views.push", "views.update")
        ]
        if modals:
            out.append("<h2>Modals</h2>")
            out.extend(
                view_html((c.get("params") or {}).get("view"), names, label=str(c.get("method")))
                for c in modals
            )
        for user, view in (data.get("home") or {}).items():
            out.append(view_html(view, names, label=names.users.get(user, user)))
        if calls:
            out.append("<h2>Every call, in order</h2>")
            out.extend(_call_html(c, names) for c in recorded)
        return "".join(out)
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "view" in item or item.get("type") in ("modal", "home"):
            out.append(
                view_html(item.get("view", item), names, label=str(item.get("type") or "view"))
            )
        elif "method" in item and "params" in item:
            out.append(_call_html(item, names))
        else:
            out.append(message_html({"user": "UBOT", "bot_id": "BBOT", **item}, names))
    return "".join(out)


CSS = """
body{font-family:Lato,"Noto Sans","DejaVu Sans",Helvetica,Arial,sans-serif;font-size:15px;line-height:1.46;
color:#1d1c1d;background:#fff;margin:0;padding:16px 20px;width:760px}
h1{font-size:13px;color:#616061;font-weight:normal;margin:0 0 8px}
h2{font-size:18px;margin:18px 0 6px;border-bottom:1px solid #e8e8e8;padding-bottom:4px}
.message{display:flex;gap:8px;padding:6px 0}
.avatar{width:36px;height:36px;border-radius:6px;background:#e8e8e8;display:flex;align-items:center;
justify-content:center;flex:none;font-weight:bold}
.content{flex:1;min-width:0}.meta{margin-bottom:2px}
.app{background:#e8e8e8;color:#616061;font-size:10px;font-weight:bold;padding:1px 3px;border-radius:2px}
.muted{color:#616061}.small{font-size:12px}
.badge{font-size:12px;color:#616061;background:#f8f8f8;border:1px solid #ddd;border-radius:4px;padding:0 4px}
.thread{margin-left:44px;border-left:3px solid #e8e8e8;padding-left:10px}
.threadhead{color:#1264a3;font-size:13px;font-weight:bold;margin:2px 0}
.block{margin:4px 0}.section{display:flex;gap:12px}.section .main{flex:1;min-width:0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin-top:4px}
.context{font-size:13px;color:#616061}.header{font-size:18px;font-weight:900}
hr.divider{border:none;border-top:1px solid #ddd;margin:8px 0}
.actions{display:flex;flex-wrap:wrap;gap:8px}
.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:2px 12px;font-size:14px;
font-weight:bold;background:#fff}
.button.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
.select,.textinput,.textarea{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:2px 10px;
min-width:200px;background:#fff}
.textarea{min-height:48px;width:90%}.limits{font-size:12px;color:#616061;margin-left:6px}
.overflow{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:0 8px;font-weight:bold}
.overflow ul{display:none}
.input .label{font-weight:bold}.hint{font-size:13px;color:#616061}
.choice{margin:2px 0}
code{font-family:Monaco,Menlo,"DejaVu Sans Mono",monospace;font-size:12px;color:#e01e5a;background:#f6f6f6;
border:1px solid #ddd;border-radius:3px;padding:0 3px}
pre{font-family:Monaco,Menlo,"DejaVu Sans Mono",monospace;font-size:12px;background:#f8f8f8;border:1px solid #ddd;
border-radius:4px;padding:8px;white-space:pre-wrap;margin:4px 0}
pre .mention,code .mention{font-family:inherit}
blockquote{border-left:4px solid #ddd;margin:2px 0;padding-left:10px}
a{color:#1264a3;text-decoration:none}
.mention{color:#1264a3;background:#e8f5fa;border-radius:3px;padding:0 2px}
.mention.here{background:#fff4d4;color:#1d1c1d}
time.date{border-bottom:1px dotted #616061}
.placeholder{display:inline-block;border:1px dashed #bbb;padding:8px;color:#616061;font-size:12px}
.upload{max-width:520px;border:1px solid #ddd;border-radius:8px}
.filecard{border:1px solid #ddd;border-radius:8px;padding:8px;display:inline-block}
.attachment{border-left:4px solid #ddd;padding-left:10px;margin:4px 0}
.reactions{margin-top:4px}.reaction{border:1px solid #1264a3;background:#e8f5fa;border-radius:12px;
padding:0 6px;font-size:12px}
.view{border:1px solid #ccc;border-radius:8px;margin:10px 0;box-shadow:0 2px 8px rgba(0,0,0,.12);max-width:520px}
.viewtitle{font-weight:900;font-size:18px;padding:10px 16px;border-bottom:1px solid #ddd}
.viewbody{padding:8px 16px}.viewfoot{padding:10px 16px;border-top:1px solid #ddd;text-align:right}
.view.home{max-width:none}
.call{border-top:1px dashed #ddd;padding:4px 0}.callhead{font-family:monospace;font-size:12px;color:#616061}
.unknown,.bad{color:#b00}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


def page(body: str, title: str = "Slack messages") -> str:
    """A complete page: no script may run (CSP), nothing is fetched from the network."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(html_path: Path, png_path: Path, *, width: int = 800, height: int = 6000) -> None:
    """Screenshot the page with headless Chromium, then trim the blank bottom (with Pillow)."""
    browser = find_chromium()
    if browser is None:
        raise SystemExit("no Chromium found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png_path.resolve()}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    _trim(png_path)


def _trim(png_path: Path) -> None:
    try:
        from PIL import Image, ImageChops
    except ImportError:  # the page is still there, just taller than needed
        return
    with Image.open(png_path) as image:
        rgb = image.convert("RGB")
        background = Image.new("RGB", rgb.size, (255, 255, 255))
        box = ImageChops.difference(rgb, background).getbbox()
        if box:
            rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + 16))).save(png_path)


def main(argv: list[str] | None = None, *, shoot: Callable[[Path, Path], None] = screenshot) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "input", type=Path, help="a recording (FTBOT_RECORD_SLACK) or JSON of messages/views"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="HTML page to write (default: INPUT.html)"
    )
    parser.add_argument(
        "--png", type=Path, help="also screenshot the page to this PNG (headless Chromium)"
    )
    parser.add_argument(
        "--height", type=int, default=6000, help="the PNG's height at most, in pixels (6000)"
    )
    parser.add_argument("--calls", action="store_true", help="also show every call in order")
    parser.add_argument(
        "--fallback", action="store_true", help="show <!date^…> as their fallback text"
    )
    parser.add_argument(
        "--now", type=float, help="epoch seconds for {ago}/{date_pretty} (default: now)"
    )
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.input.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"render_blocks: can't read {args.input}: {err}", file=sys.stderr)
        return 2
    now = datetime.fromtimestamp(args.now, UTC) if args.now is not None else None
    names = Names(now=now, fallback_dates=args.fallback)
    body = render_recording(data, names, calls=args.calls)
    output = args.output or args.input.with_suffix(".html")
    output.write_text(page(body, title=args.input.name), encoding="utf-8")
    print(output)
    if args.png:
        if shoot is screenshot:
            screenshot(output, args.png, height=max(args.height, 200))
        else:
            shoot(output, args.png)
        print(args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
