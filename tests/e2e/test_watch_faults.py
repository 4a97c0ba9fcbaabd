"""The hard cases: flaky APIs, a bot killed mid-job, two bot processes on one database.
In every case each event and the completion notice are posted exactly once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from handlers import ids
from tests.conftest import shared
from tests.e2e.conftest import SECRET, start_bot, wait_for
from tests.e2e.test_jobs import job_posts
from tests.e2e.test_watch import MESSAGES, assert_folded, in_status, settled
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.signing import command_request, event_request, file_shared_event, post

pytestmark = pytest.mark.db


def replies(slack: FakeSlack, root_ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.thread("C1", root_ts) if m["ts"] != root_ts]


def wait_done(slack: FakeSlack, root_ts: str) -> None:
    """The last notice of a succeeded job (the checkpoint choice) is in the thread."""
    wait_for(
        lambda: any(
            ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or [])
            for m in replies(slack, root_ts)
        ),
        what="checkpoint choice (nothing lost)",
        timeout=60,
    )


def wait_settled(database_url: str, job_id: str) -> None:
    """Every bot process sharing the database is done with the job (see `settled`)."""
    engine = create_engine(database_url)
    try:
        wait_for(lambda: settled(engine, job_id), what="the pollers done with the job", timeout=60)
    finally:
        engine.dispose()


def assert_exactly_once(slack: FakeSlack, root_ts: str, uploads: int = 1) -> None:
    thread = replies(slack, root_ts)
    # the report, the status message, the outcome, the chart, the checkpoints
    assert len(thread) == 5, [m.get("text") for m in thread]
    assert_folded(slack, root_ts, job_posts(slack)[0]["ts"], MESSAGES)
    assert sum(bool(m.get("reply_broadcast")) for m in thread) == 1
    assert sum(ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or []) for m in thread) == 1
    assert len(slack.uploaded_files) == uploads


def advance(openai: FakeOpenAI, job_id: str, steps: range, total: int, pause: float = 0.0) -> None:
    if steps.start == 1:
        openai.advance_job(job_id, status="queued")
        openai.advance_job(job_id, status="running")
    for step in steps:
        openai.advance_job(
            job_id, step=step, total_steps=total, train_loss=1.0 / step, train_acc=0.6
        )
        if step in (10, 20):
            openai.add_checkpoint(
                job_id, step, {"valid_loss": 0.5, "valid_mean_token_accuracy": 0.7}
            )
        time.sleep(pause)


def test_flaky_openai_and_slack(slack: FakeSlack, database_url: str, openai: FakeOpenAI) -> None:
    bot = start_bot(slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2)
    try:
        file = slack.add_file(shared("drone_training.jsonl").read_bytes(), name="d.jsonl")
        root = file["shares"]["public"]["C1"][0]["ts"]
        bot.event(file_shared_event(file["id"], "C1", "U1"))
        wait_for(lambda: "white_check_mark" in slack.reactions("C1", root), what="report")
        bot.command("start latest", user="UOWNER")
        wait_for(lambda: job_posts(slack), what="job post")
        job_id = next(iter(openai.jobs))
        openai.chaos(0.2, 0.2)
        slack.chaos(0.25, methods=("chat.postMessage", "chat.update", "conversations.replies",
                                   "files.getUploadURLExternal", "files.completeUploadExternal"))  # fmt: skip
        advance(openai, job_id, range(1, 21), 20, pause=0.05)
        openai.succeed(job_id, trained_tokens=5000)
        wait_for(
            lambda: any(m.get("reply_broadcast") for m in replies(slack, root)),
            what="completion notice",
            timeout=120,
        )
        wait_for(lambda: slack.uploaded_files, what="chart", timeout=60)
        openai.chaos(0, 0)
        slack.chaos(0)
        wait_done(slack, root)
        wait_for(lambda: settled(bot.services.engine, job_id), what="the poller done with the job")
        faults = [c for c in slack.calls if c.fault] + [c for c in openai.calls if c.status >= 429]
        # the storm really happened (a quiet thread makes fewer Slack calls to fail than one
        # reply per event did)
        assert len(faults) >= 2, len(faults)
        assert_exactly_once(slack, root)
    finally:
        bot.stop()


def serve(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, home: Path
) -> tuple[subprocess.Popen[str], str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai.base_url,
        "DATABASE_URL": database_url,
        "FTBOT_POLL_SECONDS": "0.2",
        "PORT": "0",
    }
    exe = str(Path(sys.executable).parent / "finetune-bot")
    log = home / f"serve-{time.monotonic_ns()}.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([exe, "serve"], env=env, stderr=sink, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on port (\d+)", log.read_text())
        if found:
            return proc, f"http://127.0.0.1:{found.group(1)}/slack/events"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"serve did not start: {log.read_text()}")


def _logs(home: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(home.glob("serve-*.log")))


def start_job_through(
    url: str, slack: FakeSlack, openai: FakeOpenAI, home: Path
) -> tuple[str, str]:
    file = slack.add_file(shared("drone_training.jsonl").read_bytes(), name="d.jsonl")
    root = file["shares"]["public"]["C1"][0]["ts"]
    post(url, *event_request(file_shared_event(file["id"], "C1", "U1"), secret=SECRET))
    wait_for(lambda: "white_check_mark" in slack.reactions("C1", root), what="report")
    slack.ensure_user("UOWNER")  # a member of #C1, which is open to everyone the fake knows
    _, _, answer = post(url, *command_request(text="start latest", secret=SECRET, user_id="UOWNER"))
    try:
        wait_for(lambda: job_posts(slack), what="job post")
    except pytest.fail.Exception:  # say why: the command's answer and the servers' logs
        pytest.fail(f"no job post; `start latest` answered {answer!r}; logs:\n{_logs(home)}")
    return next(iter(openai.jobs)), root


def test_kill_9_mid_job_and_restart(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    first, url = serve(slack, openai, database_url, tmp_path)
    try:
        job_id, root = start_job_through(url, slack, openai, tmp_path)
        advance(openai, job_id, range(1, 11), 20)
        wait_for(
            lambda: in_status(slack, job_posts(slack)[0]["ts"], "Checkpoint created at step 10"),
            what="events before the crash",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    advance(openai, job_id, range(11, 21), 20)
    openai.succeed(job_id, trained_tokens=5000)
    second, _ = serve(slack, openai, database_url, tmp_path)
    try:
        try:
            wait_for(
                lambda: any(m.get("reply_broadcast") for m in replies(slack, root)),
                what="completion after the restart",
                timeout=60,
            )
        except pytest.fail.Exception:
            from sqlalchemy import create_engine, text

            engine = create_engine(database_url)
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "select id, state, status, lease_owner, lease_until, events_cursor from jobs"
                    )
                ).all()
                notes = connection.execute(
                    text("select kind, key, status from notifications")
                ).all()
            engine.dispose()
            pytest.fail(f"no completion after the restart; jobs {rows}; notifications {notes}")
        wait_for(lambda: slack.uploaded_files, what="chart", timeout=30)
        wait_done(slack, root)
        wait_settled(database_url, job_id)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert_exactly_once(slack, root)


def test_two_serve_processes_on_one_database(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    one, url = serve(slack, openai, database_url, tmp_path)
    two, _ = serve(slack, openai, database_url, tmp_path)
    try:
        job_id, root = start_job_through(url, slack, openai, tmp_path)
        advance(openai, job_id, range(1, 21), 20, pause=0.03)
        openai.succeed(job_id, trained_tokens=5000)
        wait_for(
            lambda: any(m.get("reply_broadcast") for m in replies(slack, root)),
            what="completion notice",
            timeout=60,
        )
        wait_for(lambda: slack.uploaded_files, what="chart", timeout=30)
        wait_done(slack, root)
        wait_settled(database_url, job_id)
    finally:
        for proc in (one, two):
            proc.send_signal(signal.SIGTERM)
        for proc in (one, two):
            proc.wait(timeout=30)
    assert_exactly_once(slack, root)
