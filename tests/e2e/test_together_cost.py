"""What watching a Together job costs (issue 13, point 7): an unchanged job costs at most two
Together calls per poll cycle and no Slack call; a change is still seen on the next cycle."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_together_watch import started_elsewhere
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether

pytestmark = pytest.mark.db


@pytest.fixture
def idle(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    """A bot whose poller runs only when the test calls `poll_once` (so cycles can be counted)."""
    slack.add_user("UADMIN")
    bot = start_bot(
        slack, database_url, openai, FTBOT_ADMINS="UADMIN",
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
    )  # fmt: skip
    yield bot
    bot.stop()


def adopt(bot: Bot, job_id: str) -> None:
    _, payload = bot.command(f"watch {job_id}", user="UADMIN")
    assert "Watching" in payload["text"], payload
    wait_for(
        lambda: [m for m in bot.slack.messages("C1") if job_id in json.dumps(m.get("blocks"))],
        what="the adopted job's status message",
    )


def test_an_unchanged_together_job_costs_two_calls_per_cycle_and_no_slack_call(
    idle: Bot, together: FakeTogether
) -> None:
    bot, slack, watcher = idle, idle.slack, idle.services.watcher
    running, queued = started_elsewhere(together), started_elsewhere(together)
    together.advance(queued, status="queued")
    together.advance(running, status="running", total_steps=10)
    together.advance(running, step=1, total_steps=10, train_loss=1.5)
    for job_id in (running, queued):
        adopt(bot, job_id)
    for _ in range(2):  # the first cycles post what the jobs already did
        assert watcher.poll_once().failed == 0
    about = {job_id: 0 for job_id in (running, queued)}
    seen, slack_seen, cycles = len(together.calls), len(slack.calls), 5
    for _ in range(cycles):
        stats = watcher.poll_once()
        assert (stats.jobs, stats.failed) == (2, 0)
    calls = together.calls[seen:]
    for call in calls:
        for job_id in about:
            about[job_id] += job_id in call.path
    assert sum(about.values()) == len(calls), [c.path for c in calls]  # nothing else was asked
    assert about[running] <= 2 * cycles, [c.path for c in calls if running in c.path]
    assert about[queued] <= 1 * cycles, [c.path for c in calls if queued in c.path]
    assert slack.calls[slack_seen:] == []
    # and a change is seen on the very next cycle: a new step edits the status message
    updates = len(slack.calls_to("chat.update"))
    together.advance(running, step=2, total_steps=10, train_loss=0.75)
    watcher.poll_once()
    assert len(slack.calls_to("chat.update")) == updates + 1
    edited = slack.calls_to("chat.update")[-1]
    assert "2/10" in json.dumps(edited.params) or "20%" in json.dumps(edited.params), edited.params
