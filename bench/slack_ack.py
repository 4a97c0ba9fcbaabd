"""Slack-side benchmark of `finetune-bot serve` against the fake Slack, in one run.

    python bench/slack_ack.py [--rounds 10] [--examples 40000] [--shared ../shared]

1. Ack latency: rounds of 20 concurrent signed requests (slash commands and events) to the real
   HTTP endpoint of a `finetune-bot serve` process; prints p50/p99 and checks every answer is 2xx.
2. Upload to report: the ~100 MB dataset shared in the fake Slack, from the file_shared event to
   the report posted in the thread, against `finetune-bot validate --json` on the same file;
   prints the ratio and the serve process's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.fakes.signing import (  # noqa: E402
    command_request,
    event_request,
    file_shared_event,
    post,
)

SECRET = "bench-secret"


def start_serve(slack: FakeSlack, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    """`finetune-bot serve` on a free port; returns the process and its base URL."""
    exe = shutil.which("finetune-bot", path=str(Path(sys.executable).parent)) or "finetune-bot"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "PORT": "0",
        # Serving needs a backend key; this one goes nowhere (the bench starts no job).
        "OPENAI_API_KEY": "sk-bench-unused",
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }
    proc = subprocess.Popen(
        [exe, "serve"], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"listening on port (\d+)", line)
        if found:
            return proc, f"http://127.0.0.1:{found.group(1)}"
    raise SystemExit("serve did not start")


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ack_latencies(url: str, slack: FakeSlack, rounds: int) -> tuple[list[float], list[int]]:
    """Latency (ms) and status of every request, 20 concurrent per round."""
    small = slack.add_file(b'{"messages": []}\n', name="tiny.jsonl", channel="C1")

    def one(i: int) -> tuple[float, int]:
        if i % 2:
            body, headers = command_request(text="help", secret=SECRET, channel_id="C1")
        else:
            event = file_shared_event(small["id"], "C1", "U1")
            body, headers = event_request(event, secret=SECRET)
        start = time.perf_counter()
        status, _, _ = post(f"{url}/slack/events", body, headers)
        return (time.perf_counter() - start) * 1000, status

    latencies: list[float] = []
    statuses: list[int] = []
    with ThreadPoolExecutor(20) as pool:
        for _ in range(rounds):
            for ms, status in pool.map(one, range(20)):
                latencies.append(ms)
                statuses.append(status)
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--examples", type=int, default=40_000)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    data = args.workdir / f"ftbot-bench-{args.examples}.jsonl"
    if not data.exists():
        make_big = args.shared / "bench" / "make_big.py"
        subprocess.run([sys.executable, make_big, data, str(args.examples)], check=True)
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack:
        proc, url = start_serve(slack, Path(tmp))
        try:
            latencies, statuses = ack_latencies(url, slack, args.rounds)
            ordered = sorted(latencies)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            print(
                f"ack: {len(latencies)} requests, 20 concurrent: all 2xx = "
                f"{all(200 <= s < 300 for s in statuses)}; p50 {statistics.median(ordered):.1f} ms, "
                f"p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
            )
            content = data.read_bytes()
            file = slack.add_file(content, name=data.name, channel="C2")
            del content
            before = peak_rss_mib(proc.pid)
            start = time.perf_counter()
            body, headers = event_request(file_shared_event(file["id"], "C2", "U1"), secret=SECRET)
            post(f"{url}/slack/events", body, headers)
            key = f"dataset:{file['id']}"
            while not any(
                ((m.get("metadata") or {}).get("event_payload") or {}).get("key") == key
                for m in slack.messages("C2")
            ):
                time.sleep(0.05)
            served = time.perf_counter() - start
            rss = peak_rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    exe = shutil.which("finetune-bot", path=str(Path(sys.executable).parent)) or "finetune-bot"
    start = time.perf_counter()
    subprocess.run([exe, "validate", str(data), "--json"], stdout=subprocess.DEVNULL, check=False)
    cli = time.perf_counter() - start
    print(
        f"upload -> report: {data.stat().st_size / 1e6:,.1f} MB in {served:.2f} s; "
        f"CLI validate {cli:.2f} s; ratio {served / cli:.2f}x"
    )
    print(f"serve peak RSS: {before:.0f} MiB before the upload, {rss:.0f} MiB after")


if __name__ == "__main__":
    main()
