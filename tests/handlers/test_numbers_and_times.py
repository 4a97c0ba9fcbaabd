"""Money, counts and times as the builders show them: one format (bot/core/fmt.py), Slack's
date markup for every moment."""

from __future__ import annotations

import pytest

from bot.core.watch import Event
from handlers.blocks.inspect import events_blocks
from handlers.text import money

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def _body(blocks: list) -> str:  # type: ignore[type-arg]
    return str(blocks[1].text.text)


def test_events_show_each_time_in_the_readers_zone_with_a_utc_fallback() -> None:
    events = [
        Event(id="e1", created_at=T0 - 86_400, level="info", message="Job created <!here>"),
        Event(id="e2", created_at=T0, level="info", message="Training started"),
    ]
    blocks, text = events_blocks("ftjob-1", events, "openai", now=T0 + 5)
    assert text == "Last 2 events of `ftjob-1` on OpenAI"
    assert "(UTC)" not in text
    assert _body(blocks).split("\n") == [
        f"<!date^{T0 - 86_400}^{{date_short_pretty}} {{time_secs}}|2023-11-13 22:13:20 UTC> "
        "Job created &lt;!here&gt;",
        f"<!date^{T0}^{{time_secs}}|22:13:20 UTC> Training started",
    ]


def test_events_without_a_clock_count_the_newest_events_day_as_today() -> None:
    events = [Event(id="e1", created_at=T0, level="info", message="x")]
    assert _body(events_blocks("j", events, "together")[0]).startswith(
        f"<!date^{T0}^{{time_secs}}|"
    )


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(0.04181, "$0.04"), (0.004, "&lt; $0.01"), (12_345.678, "$12,345.68"), (0, "$0.00")],
)
def test_money_in_mrkdwn_is_the_one_format_escaped(amount: float, shown: str) -> None:
    assert money(amount) == shown
