"""Poll-cycle scale benchmark: `JobWatcher.poll_once` over N active jobs, against the fake OpenAI
(in its own process, so it does not share our GIL) and the fake Slack.

    python bench/poll_scale.py [--jobs 100,1000,5000] [--database-url URL]

For each N: creates N jobs through the real API, stores them as watched jobs, runs one cycle
that sees them for the first time (posts their first events, edits status messages), then
times a second cycle in which nothing changed and counts its OpenAI and Slack calls per job.
Target: 1,000 unchanged jobs in ≤ 10 s, ≤ 2 OpenAI calls and 0 Slack calls per job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bot.core.jobs import JobState  # noqa: E402
from bot.openai_gateway import OpenAIGateway  # noqa: E402
from bot.services.backends import Backends  # noqa: E402
from bot.services.ports import SystemClock  # noqa: E402
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


class Counter:
    """Counts HTTP requests made through a client."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _request: object) -> None:
        self.count += 1


def run(
    n: int, base_url: str, database_url: str, slack: FakeSlack
) -> tuple[float, float, float, int]:
    counter = Counter()
    client = openai.OpenAI(
        api_key="sk-bench",
        base_url=base_url,
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [counter]}),
    )
    training = client.files.create(
        file=("b.jsonl", b"{}\n", "application/jsonl"), purpose="fine-tune"
    )
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    jobs = JobRepository(engine=engine)
    web = WebClient(token=slack.bot_token, base_url=slack.base_url)
    now = dt.datetime.now(dt.UTC)
    for i in range(n):
        root = web.chat_postMessage(channel=f"CBENCH{n}", text=f"job {i}")[
            "ts"
        ]  # its status message
        created = client.fine_tuning.jobs.create(
            model="gpt-4o-mini-2024-07-18", training_file=training.id
        )
        record, _ = jobs.add_request(
            request_key=f"bench:{n}:{i}",
            now=now,
            request=NewJob(
                openai_job_id=created.id,
                channel_id=f"CBENCH{n}",
                thread_ts=root,
                owner_id="UBENCH",
                model=created.model,
                state=JobState.CREATED,
                status=created.status,
            ),
        )
        jobs.set_status_message(job_id=record.id, ts=root, now=now)
    watcher = JobWatcher(
        jobs=jobs,
        notifications=NotificationRepository(engine=engine),
        models=ModelRepository(engine=engine),
        datasets=DatasetRepository(engine=engine),
        backends=Backends({"openai": OpenAIGateway(client)}),
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
    return first, second, (counter.count - calls_before) / n, len(slack.calls) - slack_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100,1000,5000")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per N")
    args = parser.parse_args()
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().strip()
        print(
            f"{'jobs':>6} {'first cycle s':>14} {'unchanged cycle s':>18} "
            f"{'OpenAI calls/job':>17} {'Slack calls':>12}"
        )
        with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
            for n in (int(x) for x in args.jobs.split(",")):
                url = args.database_url or f"sqlite:///{tmp}/poll-{n}.db"
                first, second, per_job, slack_calls = run(n, base_url, url, slack)
                print(
                    f"{n:>6} {first:>14.2f} {second:>18.2f} {per_job:>17.2f} {slack_calls:>12}",
                    flush=True,
                )
    finally:
        fake.terminate()


if __name__ == "__main__":
    main()
