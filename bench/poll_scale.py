"""Poll-cycle scale benchmark: `JobWatcher.poll_once` over N active jobs on each backend, against
the fake OpenAI and the fake Together (each in its own process, so they do not share our GIL)
and the fake Slack.

    python bench/poll_scale.py [--jobs 100,1000,5000] [--backends openai,together]
                               [--events 3] [--database-url URL]

For each N and backend: creates N jobs through the real API (Together's are running, with a
metrics row: the dearest state to watch), stores them as watched jobs, runs one cycle that
sees them for the first time (records their first events, edits status messages), then times a
second cycle in which nothing changed and counts its API calls, SQL statements and Slack calls
per job, and the process's resident memory after it. Then every job gets `--events` new routine
events and a third cycle counts the Slack calls per job and per event (the events fold into the
status message's timeline: one edit a job, whatever their number). Then the Together/OpenAI
ratios.
Target: 1,000 unchanged jobs in ≤ 10 s, ≤ 2 API calls and 0 Slack calls per job; a cycle with
new routine events, 1 Slack call per job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402
import together  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bot.backends.together import TogetherBackend  # noqa: E402
from bot.core.jobs import JobState  # noqa: E402
from bot.openai_gateway import OpenAIGateway  # noqa: E402
from bot.services.backends import Backends  # noqa: E402
from bot.services.ports import FineTuningBackend, SystemClock  # noqa: E402
from bot.services.watch import JobWatcher  # noqa: E402
from handlers.notifier import SlackWatchNotifier  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.fine_tuned import ModelRepository  # noqa: E402
from storage.jobs import JobRepository, NewJob  # noqa: E402
from storage.notifications import NotificationRepository  # noqa: E402
from storage.repositories import DatasetRepository  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402

# The fake OpenAI adds routine events on request: a line "events K" in, "ok" out.
FAKE = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.fake_openai import FakeOpenAI
fake = FakeOpenAI().start()
print(fake.base_url, flush=True)
for request in sys.stdin:
    for job_id in list(fake.jobs):
        for k in range(int(request.split()[1])):
            fake.add_event(job_id, f"Bench step {k} done")
    print("ok", flush=True)
"""
# The fake Together creates running jobs on request ("jobs N" in, their ids as JSON out) and
# adds routine events ("events K" in, "ok" out).
FAKE_TOGETHER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.fake_together import FakeTogether
fake = FakeTogether().start()
print(fake.base_url, flush=True)
line = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
file_id = fake.add_file(line + b"\\n").id
for request in sys.stdin:
    what, count = request.split()
    if what == "events":
        for job_id in list(fake.jobs):
            for k in range(int(count)):
                fake.add_event(job_id, "message", f"Bench step {k} done")
        print("ok", flush=True)
        continue
    made = []
    for _ in range(int(count)):
        job = fake.new_job({"model": sys.argv[2], "training_file": file_id})
        fake.advance(job["id"], status="running", total_steps=100)
        fake.advance(job["id"], step=1, total_steps=100, train_loss=1.0)
        made.append(job["id"])
    print(json.dumps(made), flush=True)
"""
TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


class Counter:
    """Counts HTTP requests made through a client (or SQL statements sent on an engine)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: object) -> None:
        self.count += 1


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Fakes:
    """The fake APIs' processes and what the bench asks of them."""

    def __init__(self) -> None:
        self.openai = subprocess.Popen(
            [sys.executable, "-c", FAKE, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.together = subprocess.Popen(
            [sys.executable, "-c", FAKE_TOGETHER, str(ROOT), TOGETHER_MODEL],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.openai.stdout is not None and self.together.stdout is not None
        self.openai_url = self.openai.stdout.readline().strip()
        self.together_url = self.together.stdout.readline().strip()

    def together_jobs(self, n: int) -> list[str]:
        """N running Together jobs (one metrics row each), created inside the fake."""
        return [str(job_id) for job_id in json.loads(self._ask(self.together, f"jobs {n}"))]

    def add_events(self, name: str, k: int) -> None:
        """K new routine events in every job of that backend's fake."""
        answer = self._ask(self.openai if name == "openai" else self.together, f"events {k}")
        assert answer == "ok", answer

    @staticmethod
    def _ask(proc: subprocess.Popen[str], line: str) -> str:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{line}\n")
        proc.stdin.flush()
        return proc.stdout.readline().strip()

    def close(self) -> None:
        for proc in (self.openai, self.together):
            proc.terminate()
            proc.wait(timeout=10)


def openai_jobs(n: int, base_url: str, counter: Counter) -> tuple[FineTuningBackend, list[str]]:
    """The OpenAI gateway (its requests counted) and N jobs created through it."""
    client = openai.OpenAI(
        api_key="sk-bench",
        base_url=base_url,
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [counter]}),
    )
    training = client.files.create(
        file=("b.jsonl", b"{}\n", "application/jsonl"), purpose="fine-tune"
    )
    made = [
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
        for _ in range(n)
    ]
    return OpenAIGateway(client), [job.id for job in made]


def together_backend(base_url: str, counter: Counter) -> FineTuningBackend:
    """The Together adapter as the bot builds it, its requests counted."""
    client = together.Together(
        api_key="bench",
        base_url=base_url,
        max_retries=2,
        timeout=120.0,
        http_client=together.DefaultHttpxClient(event_hooks={"request": [counter]}),
    )
    return TogetherBackend(client)


@dataclass(frozen=True)
class Figures:
    """One backend's cycle over N jobs."""

    first: float
    first_slack_per_job: float
    unchanged: float
    calls_per_job: float
    sql_per_job: float
    slack_calls: int
    rss_mb: float
    events: float  # the cycle after every job got new routine events
    events_slack_per_job: float
    events_slack_per_event: float


def run(
    n: int, name: str, fakes: Fakes, database_url: str, slack: FakeSlack, events: int
) -> Figures:
    counter = Counter()
    if name == "openai":
        gateway, remote_ids = openai_jobs(n, fakes.openai_url, counter)
        model = "gpt-4o-mini-2024-07-18"
    else:
        gateway, remote_ids = together_backend(fakes.together_url, counter), fakes.together_jobs(n)
        model = TOGETHER_MODEL
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sql = Counter()
    jobs = JobRepository(engine=engine)
    web = WebClient(token=slack.bot_token, base_url=slack.base_url)
    now = dt.datetime.now(dt.UTC)
    channel = f"CBENCH{name.upper()}{n}"
    for i, remote_id in enumerate(remote_ids):
        root = web.chat_postMessage(channel=channel, text=f"job {i}")["ts"]  # its status message
        record, _ = jobs.add_request(
            request_key=f"bench:{name}:{n}:{i}",
            now=now,
            request=NewJob(
                remote_id=remote_id,
                channel_id=channel,
                thread_ts=root,
                owner_id="UBENCH",
                model=model,
                state=JobState.CREATED,
                status="running",
                backend=name,
            ),
        )
        jobs.set_status_message(job_id=record.id, ts=root, now=now)
    watcher = JobWatcher(
        jobs=jobs,
        notifications=NotificationRepository(engine=engine),
        models=ModelRepository(engine=engine),
        datasets=DatasetRepository(engine=engine),
        backends=Backends({name: gateway}),
        notifier=SlackWatchNotifier(client=web),
        clock=SystemClock(),
        concurrency=8,
        lease=dt.timedelta(minutes=5),
    )
    slack_before = len(slack.calls)
    start = time.perf_counter()
    watcher.poll_once()
    first = time.perf_counter() - start
    first_slack = len(slack.calls) - slack_before
    calls_before, slack_before = counter.count, len(slack.calls)
    event.listen(engine, "before_cursor_execute", sql)
    start = time.perf_counter()
    stats = watcher.poll_once()
    second = time.perf_counter() - start
    event.remove(engine, "before_cursor_execute", sql)
    assert stats.jobs == n and stats.failed == 0, stats
    calls, unchanged_slack, memory = counter.count - calls_before, len(slack.calls), rss_mb()
    unchanged_slack -= slack_before
    fakes.add_events(name, events)
    slack_before = len(slack.calls)
    start = time.perf_counter()
    stats = watcher.poll_once()
    third = time.perf_counter() - start
    assert stats.jobs == n and stats.failed == 0, stats
    changed_slack = len(slack.calls) - slack_before
    engine.dispose()
    return Figures(
        first=first,
        first_slack_per_job=first_slack / n,
        unchanged=second,
        calls_per_job=calls / n,
        sql_per_job=sql.count / n,
        slack_calls=unchanged_slack,
        rss_mb=memory,
        events=third,
        events_slack_per_job=changed_slack / n,
        events_slack_per_event=changed_slack / (n * events) if events else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100,1000,5000")
    parser.add_argument("--backends", default="openai,together")
    parser.add_argument("--events", type=int, default=3, help="new routine events per job")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per run")
    args = parser.parse_args()
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    fakes = Fakes()
    try:
        print(
            f"{'backend':>9} {'jobs':>6} {'first s':>8} {'Slack/job':>9} {'unchanged s':>11} "
            f"{'API/job':>7} {'SQL/job':>7} {'Slack':>5} {'RSS MB':>6} "
            f"{'events s':>8} {'Slack/job':>9} {'Slack/event':>11}"
        )
        with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.jobs.split(",")):
                figures: dict[str, Figures] = {}
                for name in names:
                    url = args.database_url or f"sqlite:///{tmp}/poll-{name}-{n}.db"
                    got = figures[name] = run(n, name, fakes, url, slack, args.events)
                    print(
                        f"{name:>9} {n:>6} {got.first:>8.2f} {got.first_slack_per_job:>9.2f} "
                        f"{got.unchanged:>11.2f} {got.calls_per_job:>7.2f} "
                        f"{got.sql_per_job:>7.2f} {got.slack_calls:>5} {got.rss_mb:>6.0f} "
                        f"{got.events:>8.2f} {got.events_slack_per_job:>9.2f} "
                        f"{got.events_slack_per_event:>11.2f}",
                        flush=True,
                    )
                if {"openai", "together"} <= figures.keys():
                    ours, theirs = figures["together"], figures["openai"]
                    print(
                        f"{'ratio':>9} {n:>6} {ours.first / theirs.first:>8.2f} {'':>9} "
                        f"{ours.unchanged / theirs.unchanged:>11.2f} "
                        f"{ours.calls_per_job / theirs.calls_per_job:>7.2f} "
                        f"{ours.sql_per_job / theirs.sql_per_job:>7.2f} {'':>5} "
                        f"{ours.rss_mb / theirs.rss_mb:>6.2f} {ours.events / theirs.events:>8.2f}"
                        "   (Together/OpenAI)",
                        flush=True,
                    )
    finally:
        fakes.close()


if __name__ == "__main__":
    main()
