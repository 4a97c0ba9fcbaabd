"""Run a parsed /finetune command as a user: shared by the slash command and conversations."""

from __future__ import annotations

from typing import Any

from bot.core import commands
from bot.core.access import Viewer
from handlers.blocks.checkpoints import checkpoint_blocks
from handlers.blocks.commands import datasets_blocks, help_blocks
from handlers.blocks.inspect import events_blocks, status_answer_blocks
from handlers.blocks.jobs import cost_blocks
from handlers.blocks.leaderboard import leaderboard_blocks
from handlers.blocks.listing import jobs_blocks
from handlers.blocks.models import (
    comparison_blocks,
    delete_confirmation,
    models_blocks,
    try_blocks,
)
from handlers.blocks.usage import usage_blocks
from handlers.deps import Deps
from handlers.text import code, render


def run_command(
    services: Deps, parsed: commands.Command, *, viewer: Viewer, channel: str, key: str
) -> tuple[list[Any], str]:
    """Call the one service the command needs, as `viewer`; return blocks and fallback text."""
    match parsed:
        case commands.Help():
            return help_blocks()
        case commands.Datasets():
            records = services.datasets.channel_datasets(channel, viewer)
            return datasets_blocks(records, channel_id=channel)
        case commands.Cost():
            return cost_blocks(*services.jobs.cost(parsed, viewer, channel))
        case commands.Start():
            started = services.jobs.request_start(
                viewer=viewer, channel_id=channel, cmd=parsed, request_key=key
            )
            return [], render(started)
        case commands.JobAction():
            done = services.jobs.act(viewer=viewer, action=parsed.action, reference=parsed.job)
            return [], render(done)
        case commands.Events():
            job_id, events, backend = services.inspector.events(parsed.job, parsed.count, viewer)
            now = int(services.clock.now().timestamp())
            return events_blocks(job_id, events, backend, now=now)
        case commands.JobQuery(what="status"):
            return status_answer_blocks(services.inspector.status(parsed.job, viewer))
        case commands.JobQuery(what="checkpoints"):
            return checkpoint_blocks(services.inspector.checkpoints(parsed.job, viewer))
        case commands.JobQuery(what="chart"):
            return [], render(services.inspector.chart(reference=parsed.job, viewer=viewer))
        case commands.Jobs():
            lines = services.models.jobs(scope=parsed.scope, viewer=viewer, channel_id=channel)
            return jobs_blocks(
                lines,
                scope=parsed.scope,
                now=services.clock.now(),
                workspace_url=services.workspace_url,
            )
        case commands.Models():
            return models_blocks(services.models.models(viewer), today=services.clock.now().date())
        case commands.Usage():
            return usage_blocks(services.models.usage(viewer))
        case commands.Leaderboard():
            board = services.leaderboard.board(
                viewer=viewer, dataset=parsed.dataset, channel_id=channel
            )
            return leaderboard_blocks(board)
        case commands.DeleteModel():
            model = services.models.check_delete(viewer=viewer, model=parsed.model)
            return delete_confirmation(model)
        case commands.Deploy():
            said = services.deployments.deploy(viewer=viewer, model=parsed.model, name=parsed.name)
            return [], render(said)
        case commands.JobQuery(what="watch"):
            job = services.inspector.adopt(viewer=viewer, reference=parsed.job, channel_id=channel)
            return [], f"Watching {code(job.remote_id or '')} in this channel now."
    raise commands.UsageError(commands.usage_line())


def run_slow(
    services: Deps, parsed: commands.Try | commands.Compare, *, viewer: Viewer, channel: str
) -> tuple[list[Any], str]:
    """`try` and `compare`, which wait for model answers (run them after the ack)."""
    if isinstance(parsed, commands.Try):
        model, text = services.models.try_model(
            viewer=viewer, channel_id=channel, model=parsed.model, prompt=parsed.prompt
        )
        return try_blocks(model, parsed.prompt, text)
    result = services.compare.compare(
        viewer=viewer,
        model=parsed.model,
        dataset=parsed.dataset,
        channel_id=channel,
        limit=parsed.n,
        progress=lambda done, total: None,
    )
    return comparison_blocks(result)


def listing_page(
    services: Deps, *, kind: str, scope: str, viewer: Viewer, channel: str, offset: int
) -> tuple[list[Any], str]:
    """A later page of a listing (the *Show more* button), re-checked for the clicking viewer."""
    if kind == "jobs":
        if scope not in ("channel", "mine", "all"):
            scope = "channel"
        lines = services.models.jobs(scope=scope, viewer=viewer, channel_id=channel)
        return jobs_blocks(
            lines,
            scope=scope,
            now=services.clock.now(),
            offset=offset,
            workspace_url=services.workspace_url,
        )
    if kind == "models":
        today = services.clock.now().date()
        return models_blocks(services.models.models(viewer), offset=offset, today=today)
    records = services.datasets.channel_datasets(scope or channel, viewer)
    return datasets_blocks(records, channel_id=scope or channel, offset=offset)
