"""Poll-cycle scale benchmark: `JobWatcher.poll_once` over N active jobs on each backend, against
the fake OpenAI and the fake Together (each in its own process, so they do not share our GIL)
and the fake Slack.

    python bench/poll_scale.py [--jobs 100,1000,5000] [--backends openai,together]
                               [--database-url URL]

For each N and backend: creates N jobs through the real API (Together's are running, with a
metrics row: the dearest state to watch), stores them as watched jobs, runs one cycle that
sees them for the first time (posts their first events, edits status messages), then times a
second cycle in which nothing changed and counts its API and Slack calls per job, and the
process's resident memory after it. Then the Together/OpenAI ratios.
Target: 1,000 unchanged jobs in ≤ 10 s, ≤ 2 API calls and 0 Slack calls per job.
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

FAKE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]);"
    "from tests.fakes.fake_openai import FakeOpenAI;"
    "f = FakeOpenAI().start(); print(f.base_url, flush=True); time.sleep(10**9)"
)
# The fake Together creates running jobs on request: a line "N" in, their ids (JSON) out.
FAKE_TOGETHER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.fake_together import FakeTogether
fake = FakeTogether().start()
print(fake.base_url, flush=True)
line = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
file_id = fake.add_file(line + b"\\n").id
for request in sys.stdin:
    made = []
    for _ in range(int(request)):
        job = fake.new_job({"model": sys.argv[2], "training_file": file_id})
        fake.advance(job["id"], status="running", total_steps=100)
        fake.advance(job["id"], step=1, total_steps=100, train_loss=1.0)
        made.append(job["id"])
    print(json.dumps(made), flush=True)
"""
TOGETHER_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


class Counter:
    """Counts HTTP requests made through a client."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _request: object) -> None:
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
            [sys.executable, "-c", FAKE, str(ROOT)], stdout=subprocess.PIPE, text=True
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
        assert self.together.stdin is not None and self.together.stdout is not None
        self.together.stdin.write(f"{n}\n")
        self.together.stdin.flush()
        return [str(job_id) for job_id in json.loads(self.together.stdout.readline())]

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
    unchanged: float
    calls_per_job: float
    slack_calls: int
    rss_mb: float


def run(n: int, name: str, fakes: Fakes, database_url: str, slack: FakeSlack) -> Figures:
    counter = Counter()
    if name == "openai":
        gateway, remote_ids = openai_jobs(n, fakes.openai_url, counter)
        model = "gpt-4o-mini-2024-07-18"
    else:
        gateway, remote_ids = together_backend(fakes.together_url, counter), fakes.together_jobs(n)
        model = TOGETHER_MODEL
    engine = make_engine(database_url)
    migrate.upgrade(engine)
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
    start = time.perf_counter()
    watcher.poll_once()
    first = time.perf_counter() - start
    calls_before, slack_before = counter.count, len(slack.calls)
    start = time.perf_counter()
    stats = watcher.poll_once()
    second = time.perf_counter() - start
    assert stats.jobs == n and stats.failed == 0, stats
    engine.dispose()
    return Figures(
        first, second, (counter.count - calls_before) / n, len(slack.calls) - slack_before, rss_mb()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100,1000,5000")
    parser.add_argument("--backends", default="openai,together")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per run")
    args = parser.parse_args()
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    fakes = Fakes()
    try:
        print(
            f"{'backend':>9} {'jobs':>6} {'first cycle s':>14} {'unchanged cycle s':>18} "
            f"{'API calls/job':>14} {'Slack calls':>12} {'RSS MB':>8}"
        )
        with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.jobs.split(",")):
                figures: dict[str, Figures] = {}
                for name in names:
                    url = args.database_url or f"sqlite:///{tmp}/poll-{name}-{n}.db"
                    got = figures[name] = run(n, name, fakes, url, slack)
                    print(
                        f"{name:>9} {n:>6} {got.first:>14.2f} {got.unchanged:>18.2f} "
                        f"{got.calls_per_job:>14.2f} {got.slack_calls:>12} {got.rss_mb:>8.0f}",
                        flush=True,
                    )
                if {"openai", "together"} <= figures.keys():
                    ours, theirs = figures["together"], figures["openai"]
                    print(
                        f"{'ratio':>9} {n:>6} {ours.first / theirs.first:>14.2f} "
                        f"{ours.unchanged / theirs.unchanged:>18.2f} "
                        f"{ours.calls_per_job / theirs.calls_per_job:>14.2f} "
                        f"{'':>12} {ours.rss_mb / theirs.rss_mb:>8.2f}   (Together/OpenAI)",
                        flush=True,
                    )
    finally:
        fakes.close()


if __name__ == "__main__":
    main()
