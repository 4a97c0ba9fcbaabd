"""`finetune-bot serve` as a user starts it: a real process on a free port, against fake Slack."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.db import fresh_database_url
from tests.dockerfile import healthcheck, read
from tests.e2e.conftest import SECRET, wait_for
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import command_request, post

pytestmark = pytest.mark.db

# One backend key is enough to serve (product §9); never used here (`help` needs no backend).
UNREACHABLE = "http://127.0.0.1:9/v1"
BACKEND_KEYS = {
    "openai": {"OPENAI_API_KEY": "sk-never-sent", "OPENAI_BASE_URL": UNREACHABLE},
    "together only": {"TOGETHER_API_KEY": "tg-never-sent", "TOGETHER_BASE_URL": UNREACHABLE},
}


@pytest.mark.parametrize("keys", BACKEND_KEYS)
def test_serve_answers_health_and_signed_commands_then_stops_on_sigterm(
    slack: FakeSlack, tmp_path: Path, keys: str
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
            **BACKEND_KEYS[keys],
        }
        proc = subprocess.Popen([exe, "serve"], env=env, stderr=subprocess.PIPE, text=True)
        started: list[str] = []
        try:
            assert proc.stderr is not None
            port = None
            for line in proc.stderr:
                started.append(line)
                found = re.search(r"listening on port (\d+)", line)
                if found:
                    port = found.group(1)
                    break
            assert port, "serve did not report its port"
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200
            assert run_healthcheck(port, tmp_path).returncode == 0
            body, headers = command_request(text="help", secret=SECRET)
            status, _, payload = post(f"http://127.0.0.1:{port}/slack/events", body, headers)
            assert status == 200 and "/finetune" in json.loads(payload)["text"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        rest = "".join(started) + (proc.stderr.read() if proc.stderr else "")
        assert "Traceback" not in rest
        assert slack.bot_token not in rest and SECRET not in rest
        assert not any(key in rest for key in BACKEND_KEYS[keys].values() if "never" in key)
        assert "will be unused" not in rest  # Bolt read no token from the environment
        assert " INFO apscheduler" not in rest  # the first poll ran at start, quietly
        wait_for(lambda: proc.returncode is not None, what="exit")


def run_healthcheck(port: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's HEALTHCHECK command, run as Docker runs it (sh -c), with this venv's python."""
    check = healthcheck(read()[-1])
    assert check is not None and isinstance(check[1], str)
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "PORT": port}
    return subprocess.run(
        ["sh", "-c", check[1]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )


def test_healthcheck_fails_in_one_line_when_nothing_answers(tmp_path: Path) -> None:
    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        out = run_healthcheck(str(closed.getsockname()[1]), tmp_path)
    assert out.returncode == 1
    assert out.stdout.startswith("unhealthy: ") and len(out.stdout.splitlines()) == 1
    assert out.stderr == ""
