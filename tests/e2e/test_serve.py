"""`finetune-bot serve` as a user starts it: a real process on a free port, against fake Slack."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.db import fresh_database_url
from tests.e2e.conftest import SECRET, wait_for
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import command_request, post

pytestmark = pytest.mark.db


def test_serve_answers_health_and_signed_commands_then_stops_on_sigterm(
    slack: FakeSlack, tmp_path: Path
) -> None:
    exe = str(Path(sys.executable).parent / "finetune-bot")
    with fresh_database_url(tmp_path) as url:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": url,
            "PORT": "0",
        }
        proc = subprocess.Popen([exe, "serve"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            port = None
            for line in proc.stderr:
                found = re.search(r"listening on port (\d+)", line)
                if found:
                    port = found.group(1)
                    break
            assert port, "serve did not report its port"
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200
            body, headers = command_request(text="help", secret=SECRET)
            status, _, payload = post(f"http://127.0.0.1:{port}/slack/events", body, headers)
            assert status == 200 and "/finetune" in json.loads(payload)["text"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        rest = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in rest
        assert slack.bot_token not in rest and SECRET not in rest
        wait_for(lambda: proc.returncode is not None, what="exit")
