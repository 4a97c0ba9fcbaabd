"""Every listing names the backend, end to end (issue 13, product §9): with one OpenAI job and one
adopted Together AI job, `jobs`, `models`, `status`, `events`, `usage` and the Home tab say which
backend each is on, and what Together named (its model, its events) stays inert text."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from handlers import ids
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_together_watch import started_elsewhere
from tests.e2e.test_watch import run_job, thread
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_together import FakeTogether
from tests.fakes.signing import app_home_opened_event
from tests.inert import check_payload, check_sent

pytestmark = pytest.mark.db

EVIL_OUTPUT = "evil/<!channel>-`x`-<https://evil.example|login>"
EVIL_EVENT = "<!here> step `1` <https://evil.example|log in> & <@U999>"
USERS = ("U1", "UOWNER", "UADMIN")
CHANNELS = ("C1",)


@pytest.fixture
def both(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, together: FakeTogether
) -> Iterator[Bot]:
    slack.add_user("UADMIN")
    bot = start_bot(
        slack, database_url, openai, poll=True, FTBOT_POLL_SECONDS=0.2, FTBOT_ADMINS="UADMIN",
        TOGETHER_API_KEY="together-test-key", TOGETHER_BASE_URL=together.base_url,
    )  # fmt: skip
    yield bot
    bot.stop()


def command(bot: Bot, text: str, *, user: str = "UADMIN") -> str:
    """A command's answer as JSON text, checked inert first."""
    status, payload = bot.command(text, user=user)
    assert status == 200, payload
    assert check_payload(payload, users=USERS, channels=CHANNELS) >= 1
    return json.dumps(payload, ensure_ascii=False)


def sections(answer: str) -> list[str]:
    blocks = json.loads(answer)["blocks"]
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def row(rows: list[str], needle: str) -> str:
    (found,) = [r for r in rows if needle in r]
    return found


def home(bot: Bot, user: str) -> list[str]:
    """The user's Home tab as published (section texts), checked inert."""
    before = len(bot.slack.calls_to("views.publish"))
    assert bot.event(app_home_opened_event(user)) == 200
    call = wait_for(
        lambda: bot.slack.calls_to("views.publish")[before:], what=f"{user}'s Home tab"
    )[0]
    assert call.params["user_id"] == user
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    check_payload(view, users=USERS, channels=CHANNELS)
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]


def test_every_listing_names_each_jobs_backend(
    both: Bot, openai: FakeOpenAI, together: FakeTogether
) -> None:
    bot, slack = both, both.slack
    # an OpenAI job, started here by UOWNER and trained to the end
    openai_job, post = run_job(bot, openai, steps=4)
    openai_model = openai.jobs[openai_job]["fine_tuned_model"]
    wait_for(lambda: [m for m in thread(bot, post) if m.get("reply_broadcast")], what="OpenAI done")
    # a Together job started elsewhere, with a hostile output name, adopted by an admin
    together_job = started_elsewhere(together)
    together.jobs[together_job]["model_output_name"] = EVIL_OUTPUT
    # an admin may read it before adopting it: the answer already names Together AI
    assert "· Together AI" in row(sections(command(bot, f"status {together_job}")), together_job)
    _, adopted = bot.command(f"watch {together_job}", user="UADMIN")
    assert "Watching" in adopted["text"], adopted
    together.advance(together_job, status="running", total_steps=10)
    together.advance(together_job, step=3, total_steps=10, train_loss=1.5)
    together.add_event(together_job, "training_progress", EVIL_EVENT)
    wait_for(
        lambda: (
            bot.services.inspector._jobs.progress(
                bot.services.inspector._jobs.by_remote_id(
                    backend="together", remote_id=together_job
                ).id  # type: ignore[union-attr]
            )
            == (3, 10)
        ),
        what="the Together job's progress",
    )

    # the Home tab while the Together job runs: its row names Together AI
    running = row(home(bot, "UADMIN"), together_job)
    assert "Together AI" in running and "OpenAI" not in running

    together.jobs[together_job]["total_price"] = 1_230_000_000  # Together's price: $1.23
    together.complete(together_job, token_count=12_345)
    wait_for(
        lambda: bot.services.inspector._models.get(EVIL_OUTPUT), what="the Together model stored"
    )

    # /finetune jobs: one row per job, each naming its own backend
    rows = sections(command(bot, "jobs all"))
    openai_row, together_row = row(rows, openai_job), row(rows, together_job)
    assert "OpenAI" in openai_row and "Together AI" not in openai_row
    assert "Together AI" in together_row and "OpenAI" not in together_row

    # /finetune models: the same, with the hostile name shown as inert code
    rows = sections(command(bot, "models"))
    assert "· OpenAI ·" in row(rows, openai_model)
    evil = row(rows, "evil.example")
    assert "· Together AI ·" in evil and "&lt;!channel&gt;" in evil and "<!channel>" not in evil

    # /finetune status and events read each job from its own backend and say which
    status = command(bot, f"status {together_job}")
    assert f"*`{together_job}`* · `meta-llama/" in status and "· Together AI ·" in status
    assert f"<https://api.together.ai/fine-tuning/{together_job}|Open on Together AI>" in status
    assert "Supervised (SFT) · 1 epoch" in status and "learning rate 0.00001" in status
    assert "trained tokens 12,345" in status and "actual $1.23" in status
    assert "· OpenAI ·" in command(bot, f"status {openai_job}")
    events = command(bot, f"events {together_job} 50")
    assert f"`{together_job}` on Together AI" in events
    assert (
        "&lt;!here&gt; step `1` &lt;https://evil.example|log in&gt; &amp; &lt;@U999&gt;" in events
    )
    assert f"`{openai_job}` on OpenAI" in command(bot, f"events {openai_job}")

    # /finetune usage: totals per backend; the adopted job has no estimate (unknown, never
    # $0.00) and its actual cost is Together's own price of it
    usage = sections(command(bot, "usage"))
    by_backend = row(usage, "*By backend*")
    openai_cost = bot.services.jobs._jobs.by_remote_id(backend="openai", remote_id=openai_job)
    assert openai_cost is not None and openai_cost.estimated_cost_usd
    assert f"• OpenAI: 1 job · estimated ${openai_cost.estimated_cost_usd:,.2f}" in by_backend
    assert "actual $0.52 (173,148 trained tokens)" in by_backend  # 173,148 × $3/1M
    assert (
        "• Together AI: 1 job · estimated unknown · "
        "actual $1.23 (12,345 trained tokens)" in by_backend
    )
    assert "$0.00" not in json.dumps(usage)

    # the Home tab after: each owner's recent model names its backend
    assert row(home(bot, "UADMIN"), "evil.example").endswith("· Together AI")
    assert row(home(bot, "UOWNER"), openai_model).endswith("· OpenAI")

    # the Together job's checkpoint list (its last notice; posted after the commands above
    # most runs, so waited for): its one row, the final model, is current (no button) and shows
    # the hostile name escaped like any text; a click carrying that name, escaped as the bot
    # escapes button values, chooses that very model
    choice = wait_for(
        lambda: [
            c
            for c in slack.calls_to("chat.postMessage")
            if together_job in str(c.params.get("text")) and "Final model" in str(c.params)
        ],
        what="the Together job's checkpoint list",
    )[0]
    blocks = choice.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert not [b for b in blocks if "accessory" in b]  # the current one has no button
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "✅ current" in shown and "evil/&lt;!channel&gt;-" in shown
    value = "evil/&lt;!channel&gt;-`x`-&lt;https://evil.example|login&gt;"
    assert bot.click(ids.CHECKPOINT_CHOOSE, value, user="UADMIN") == 200
    wait_for(
        lambda: bot.services.inspector._models.get(EVIL_OUTPUT).chosen == EVIL_OUTPUT,  # type: ignore[union-attr]
        what="the hostile-named model chosen",
    )

    # no Together call ever went to OpenAI, and everything sent to Slack stayed inert
    assert [c for c in openai.calls if together_job in c.path] == []
    assert check_sent(slack, users=USERS, channels=CHANNELS) > 0
    assert not any("<!channel>" in json.dumps(c.params) for c in slack.calls)
