"""Numbers and times as a user reads them (issue 15, points 4 and 5): the command answer, the
job's post and its status message show the same money figure; the finish estimate and
`/finetune events` use Slack's date markup with a UTC fallback; durations read as people say
them."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.e2e.conftest import Bot, wait_for
from tests.e2e.test_jobs import job_posts, ready
from tests.e2e.test_watch import thread
from tests.fakes.fake_openai import FakeOpenAI

pytestmark = pytest.mark.db

MONEY = r"(?:\$[\d,]+\.\d\d|< \$0\.01|&lt; \$0\.01)"


def test_one_money_figure_and_slack_times_from_answer_to_events(
    watching: Bot, openai: FakeOpenAI
) -> None:
    bot = watching
    ready(bot)
    _, payload = bot.command("start latest", user="UOWNER")
    answered = re.search(rf"estimated ({MONEY})", payload["text"])
    assert answered, payload["text"]
    figure = answered.group(1)
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    assert f"Estimated cost {figure} for" in post["text"]
    job_id = next(iter(openai.jobs))

    # the status message: the same figure, and the finish estimate as a time and how long
    finish = int(time.time()) + 12 * 60 + 30
    openai.advance_job(job_id, status="running")
    openai.advance_job(job_id, step=1, total_steps=10, train_loss=1.0, estimated_finish=finish)

    def status_text() -> str:
        shown = json.dumps([m.get("blocks") for m in bot.slack.messages("C1")])
        return shown if "finishes around" in shown else ""

    shown = wait_for(status_text, what="status message with the finish estimate")
    assert f"Estimated {figure}" in shown
    assert re.search(rf"finishes around <!date\^{finish}\^[^|]+\|[^>]*UTC> \(in 1[23] min\)", shown)
    assert "soon" not in shown and "0m 0" not in shown

    openai.succeed(job_id, trained_tokens=173_148)
    notice = wait_for(
        lambda: [m for m in thread(bot, post) if m.get("reply_broadcast")], what="completion"
    )[0]["text"]
    assert " · 173,148 tokens · $0.52 · " in notice
    assert re.search(r"→ `[^`]+` · \d+ (s|min)", notice), notice
    final = json.dumps(
        next(m for m in bot.slack.messages("C1") if m["ts"] == post["ts"]), ensure_ascii=False
    )
    assert f"173,148 trained tokens · estimated {figure} · actual $0.52" in final

    _, payload = bot.command(f"events {job_id}")
    events = json.dumps(payload)
    assert "<!date^" in events and "UTC>" in events and "(UTC)" not in events
    assert re.search(
        r"<!date\^\d+\^\{time_secs\}\|\d\d:\d\d:\d\d UTC> Fine-tuning job started", events
    )
