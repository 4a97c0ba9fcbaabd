"""What a test's bot posted, as one JSON document for ``docs/render_blocks.py``.

Set ``FTBOT_RECORD_SLACK=DIR`` and run the e2e tests: at teardown the ``slack`` fixture writes
``DIR/<test>.json`` with every message/view call the bot made (in order), each conversation as
it ends (messages with their edits, threads, broadcasts), the ephemerals, the answers to slash
commands, the Home tabs, the files the bot uploaded (images inline as base64) and the names of
users and channels.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from tests.fakes.fake_slack import FakeSlack

ENV = "FTBOT_RECORD_SLACK"
FORMAT = "ftbot-slack-recording/1"
RECORDED_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.delete",
        "chat.postEphemeral",
        "files.completeUploadExternal",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
    }
)
MAX_INLINE_FILE = 4 * 1024 * 1024  # bigger uploads are listed without their bytes


def snapshot(slack: FakeSlack, test: str = "") -> dict[str, Any]:
    """The recording of everything `slack` saw so far (JSON-serialisable)."""
    with slack.lock:
        calls = [
            {
                "method": c.method,
                "params": {k: v for k, v in c.params.items() if k != "token"},
                "ok": bool((c.response or {}).get("ok")),
                "error": (c.response or {}).get("error"),
                "ts": (c.response or {}).get("ts") or (c.response or {}).get("message_ts"),
                "time": c.time,
            }
            for c in slack.calls
            if c.method in RECORDED_METHODS
        ]
        channel_ids = list(slack._messages)
        users = {uid: u["name"] for uid, u in slack._users.items()}
        channels = {cid: c.get("name") or cid for cid, c in slack._channels.items()}
        files = {
            f.id: {
                "name": f.filename,
                "title": f.title,
                "mimetype": f.file.get("mimetype", ""),
                "size": len(f.content),
                "data": base64.b64encode(f.content).decode()
                if len(f.content) <= MAX_INLINE_FILE
                else None,
            }
            for f in slack.uploaded_files
        }
        ephemerals = json.loads(json.dumps(slack.ephemerals))
        answers = json.loads(json.dumps(slack.command_answers))
        home = json.loads(json.dumps(slack.home_views))
    return {
        "format": FORMAT,
        "test": test,
        "users": users,
        "channels": channels,
        "calls": json.loads(json.dumps(calls, default=str)),
        "conversations": {cid: slack.messages(cid) for cid in channel_ids},
        "ephemerals": ephemerals,
        "answers": answers,
        "home": home,
        "files": files,
    }


def file_name(test: str) -> str:
    """A safe file name for a test id (``tests/e2e/x.py::test_y[a]`` → ``x__test_y_a_.json``)."""
    path, _, rest = test.partition("::")
    module = path.rsplit("/", 1)[-1].removesuffix(".py")
    base = f"{module}__{rest}" if rest else module
    return (re.sub(r"[^A-Za-z0-9_.-]+", "_", base)[:150] or "recording") + ".json"


def write_recording(slack: FakeSlack, test: str, directory: str | Path) -> Path:
    """Write the recording of `test` into `directory` (created if missing); returns its path."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    path = target / file_name(test)
    path.write_text(json.dumps(snapshot(slack, test), indent=1, default=str), encoding="utf-8")
    return path
