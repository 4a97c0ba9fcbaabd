"""Together jobs across crashes and replicas (issue 13, point 5): real `finetune-bot serve`
processes watching adopted Together jobs. A process killed with SIGKILL mid-job is replaced by
a new one on the same database; two processes share one PostgreSQL database. Either way each of
Together's events, the completion notice (mentioning the owner), the loss chart and the
checkpoint choice reach the thread once, and the status message is edited, never re-posted."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from handlers import ids
from tests.conftest import shared
from tests.db import backend
from tests.e2e.conftest import SECRET, wait_for
from tests.e2e.test_jobs import job_posts
from tests.e2e.test_together_faults import TOGETHER_EVENTS, replies
from tests.e2e.test_together_watch import started_elsewhere
from tests.e2e.test_watch import assert_folded, in_status, settled
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.signing import command_request, event_request, file_shared_event, post

pytestmark = pytest.mark.db


def serve(
    slack: FakeSlack, together: FakeTogether, database_url: str, home: Path
) -> tuple[subprocess.Popen[str], str]:
    """A `finetune-bot serve` process with Together as its only backend; (process, events URL)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
        "TOGETHER_API_KEY": "together-test-key",
        "TOGETHER_BASE_URL": together.base_url,
        "FTBOT_ADMINS": "UADMIN",
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


def logs(home: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(home.glob("serve-*.log")))


def adopt_through(url: str, slack: FakeSlack, job_id: str, home: Path) -> dict[str, Any]:
    """`/finetune watch <job>` sent to a serve process; returns the job's status message."""
    slack.ensure_user("UADMIN")
    _, _, said = post(
        url, *command_request(text=f"watch {job_id}", secret=SECRET, user_id="UADMIN")
    )
    try:
        return wait_for(
            lambda: [m for m in slack.messages("C1") if job_id in json.dumps(m.get("blocks"))],
            what="the adopted job's status message",
        )[0]
    except pytest.fail.Exception:
        pytest.fail(f"no status message; `watch` answered {said!r}; logs:\n{logs(home)}")


def run_to_step(together: FakeTogether, job_id: str, steps: range) -> None:
    if steps.start == 1:
        together.advance(job_id, status="running", total_steps=10)
    for step in steps:
        together.advance(job_id, step=step, total_steps=10, train_loss=2.0 / step,
                         valid_loss=2.2 / step if step % 5 == 0 else None,
                         checkpoint=step == 5)  # fmt: skip


def wait_finished(slack: FakeSlack, root: dict[str, Any], database_url: str, job_id: str) -> None:
    wait_for(
        lambda: any(ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks")) for m in replies(slack, root)),
        what="the checkpoint choice (the last notice)",
        timeout=60,
    )  # fmt: skip
    engine = create_engine(database_url)
    try:
        wait_for(lambda: settled(engine, job_id), what="the pollers done with the job", timeout=60)
    finally:
        engine.dispose()


def assert_once(slack: FakeSlack, root: dict[str, Any], job_id: str, output: str) -> None:
    thread = replies(slack, root)
    # in the status message, once each; never posted anywhere (one reply per event was)
    assert_folded(slack, root["ts"], root["ts"], TOGETHER_EVENTS)
    for message in TOGETHER_EVENTS:
        posts = [
            c for c in slack.calls_to("chat.postMessage") if message in str(c.params.get("text"))
        ]
        assert posts == [], posts
    notices = [m for m in thread if m.get("reply_broadcast")]
    assert len(notices) == 1 and "<@UADMIN>" in notices[0]["text"] and output in notices[0]["text"]
    assert sum(ids.CHECKPOINT_CHOOSE in json.dumps(m.get("blocks") or []) for m in thread) == 1
    charts = [f for f in slack.uploaded_files if f.thread_ts == root["ts"]]
    assert len(charts) == 1, charts
    # one status message, edited to the end
    roots = [
        m
        for m in slack.messages("C1")
        if m.get("thread_ts") in (None, m["ts"]) and job_id in json.dumps(m.get("blocks"))
    ]
    assert [m["ts"] for m in roots] == [root["ts"]]
    edits = [c for c in slack.calls_to("chat.update") if c.params.get("ts") == root["ts"]]
    assert edits and "Succeeded" in json.dumps(edits[-1].params, ensure_ascii=False)


def test_kill_9_mid_together_job_and_restart(
    slack: FakeSlack, together: FakeTogether, database_url: str, tmp_path: Path
) -> None:
    job_id = started_elsewhere(together)
    first, url = serve(slack, together, database_url, tmp_path)
    try:
        root = adopt_through(url, slack, job_id, tmp_path)
        run_to_step(together, job_id, range(1, 6))
        wait_for(
            lambda: in_status(slack, root["ts"], "checkpoint saved at step 5"),
            what="events before the crash",
        )
        edits_before = len(slack.calls_to("chat.update"))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    run_to_step(together, job_id, range(6, 11))
    together.complete(job_id, token_count=12_345)
    second, _ = serve(slack, together, database_url, tmp_path)
    try:
        try:
            wait_finished(slack, root, database_url, job_id)
        except pytest.fail.Exception:
            pytest.fail(f"not finished after the restart; logs:\n{logs(tmp_path)}")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert_once(slack, root, job_id, together.jobs[job_id]["model_output_name"])
    assert len(slack.calls_to("chat.update")) > edits_before  # the new process edited it
    assert "Traceback" not in logs(tmp_path).split("SIGKILL")[-1]


@pytest.mark.skipif(backend() != "postgresql", reason="needs FTBOT_TEST_DATABASE_URL (PostgreSQL)")
def test_two_serve_processes_watch_together_jobs_on_one_postgresql_database(
    slack: FakeSlack, together: FakeTogether, database_url: str, tmp_path: Path
) -> None:
    jobs = [started_elsewhere(together) for _ in range(3)]
    one, url = serve(slack, together, database_url, tmp_path)
    two, _ = serve(slack, together, database_url, tmp_path)
    try:
        roots = {job_id: adopt_through(url, slack, job_id, tmp_path) for job_id in jobs}
        for step in range(1, 11):
            for job_id in jobs:
                run_to_step(together, job_id, range(step, step + 1))
            time.sleep(0.05)
        for job_id in jobs:
            together.complete(job_id, token_count=12_345)
        for job_id in jobs:
            wait_finished(slack, roots[job_id], database_url, job_id)
    finally:
        for proc in (one, two):
            proc.send_signal(signal.SIGTERM)
        for proc in (one, two):
            proc.wait(timeout=30)
    for job_id in jobs:
        assert_once(slack, roots[job_id], job_id, together.jobs[job_id]["model_output_name"])
    engine = create_engine(database_url)
    with engine.connect() as connection:
        owners = connection.execute(text("select count(*) from jobs where state = 'finished'"))
        assert owners.scalar_one() == 3
    engine.dispose()
    assert "Traceback" not in logs(tmp_path)


@pytest.mark.skipif(backend() != "postgresql", reason="needs FTBOT_TEST_DATABASE_URL (PostgreSQL)")
def test_one_together_start_delivered_to_two_serve_processes_starts_one_job(
    slack: FakeSlack, together: FakeTogether, database_url: str, tmp_path: Path
) -> None:
    """A `start` command delivered twice (a retry) to two replicas on one PostgreSQL database at
    once: one upload to Together, one job, one job post; one answer says it is starting, the
    other that the request was already received."""
    one, url_one = serve(slack, together, database_url, tmp_path)
    two, url_two = serve(slack, together, database_url, tmp_path)
    try:
        file = slack.add_file(shared("drone_training.jsonl").read_bytes(), name="d.jsonl")
        root = file["shares"]["public"]["C1"][0]["ts"]
        post(url_one, *event_request(file_shared_event(file["id"], "C1", "U1"), secret=SECRET))
        wait_for(lambda: "white_check_mark" in slack.reactions("C1", root), what="report")
        slack.ensure_user("UOWNER")
        request = command_request(
            text=f"start {file['id']} backend=together", secret=SECRET, user_id="UOWNER",
            trigger_id="trigger-once",
        )  # fmt: skip
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda url: post(url, *request)[2], (url_one, url_two)))
        try:
            wait_for(lambda: job_posts(slack), what="the job post", timeout=60)
        except pytest.fail.Exception:
            pytest.fail(f"no job post; answers {answers!r}; logs:\n{logs(tmp_path)}")
        time.sleep(2)  # time for a second creation or post, if either replica were to make one
    finally:
        for proc in (one, two):
            proc.send_signal(signal.SIGTERM)
        for proc in (one, two):
            proc.wait(timeout=30)
    assert len(together.calls_to("POST", "/v1/files")) == 1
    assert len([c for c in together.calls_to("POST", "/v1/fine-tunes") if c.status == 200]) == 1
    assert len(together.jobs) == 1
    (job_post,) = [  # (the watcher edits the post into the job's status since)
        c.params
        for c in slack.calls_to("chat.postMessage")
        if "started fine-tuning" in str(c.params.get("text"))
    ]
    assert job_post["thread_ts"] == root and "Together AI" in job_post["text"]
    said = sorted(json.loads(a)["text"] for a in answers)
    assert said[0].startswith("Starting fine-tuning of") and "Together AI" in said[0], said
    assert said[1].startswith("That request was already received"), said
    assert "Traceback" not in logs(tmp_path)
