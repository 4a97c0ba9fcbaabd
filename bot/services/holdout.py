"""`holdout=P%` on start: the dataset is split before upload (seeded, recorded), the training part
is what the backend gets, the held-out part is stored for evaluation and never trained on."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import orjson

from bot.core.command_types import Start
from bot.core.datasets import iter_records
from bot.core.evaluation import held_out_positions, holdout_size, stable_seed
from bot.core.fmt import plural
from bot.core.message import Code, say
from bot.services.errors import UserError
from bot.services.ports import Clock, FileSource, FineTuningBackend
from storage.evaluations import HoldoutRecord, HoldoutRepository, SplitResult
from storage.job_evaluations import JobEvaluationRepository
from storage.repositories import DatasetRecord

MIN_TRAINING = 10  # every backend wants at least 10 examples to train on
KEPT_EXAMPLES = 2000  # held-out examples stored for evaluations (an evaluation reads at most
# FTBOT_EVAL_EXAMPLES of them); the line numbers of all of them are stored


def seed_for(cmd: Start, dataset: DatasetRecord) -> int:
    """The split's seed: the job's `seed=` when given, else one derived from the data, so jobs on
    the same data hold out the same examples."""
    return (
        cmd.seed if cmd.seed is not None else stable_seed(dataset.sha256 or dataset.slack_file_id)
    )


def check(cmd: Start, dataset: DatasetRecord) -> None:
    """Refuse a hold-out that leaves too little to train on (before anything is uploaded)."""
    if cmd.holdout is None:
        return
    total = int(dataset.examples or 0)
    held = holdout_size(total, cmd.holdout)
    if held == 0 or total - held < MIN_TRAINING:
        raise UserError(
            say(
                f"Holding out {cmd.holdout}% of ",
                Code(dataset.name),
                f" ({plural(total, 'example')}) leaves {total - held} to train on; a job needs "
                f"at least {MIN_TRAINING}. Use a smaller `holdout=` or more data.",
            )
        )


def record_request(
    cmd: Start,
    job_id: int,
    dataset: DatasetRecord,
    backend: str,
    *,
    holdouts: HoldoutRepository | None,
    evaluations: JobEvaluationRepository | None,
    now: dt.datetime,
) -> None:
    """Record with a new job what it keeps back (`holdout=P%`) and whether it gets an automatic
    scorecard (`eval=off`: none)."""
    if cmd.holdout and holdouts is not None:
        holdouts.request(
            job_id=job_id, dataset_id=dataset.id, backend=backend, percent=cmd.holdout,
            seed=seed_for(cmd, dataset), now=now,
        )  # fmt: skip
    if not cmd.evaluate and evaluations is not None:
        evaluations.turn_off(job_id=job_id, now=now)


def split_and_upload(
    dataset: DatasetRecord,
    holdout: HoldoutRecord,
    *,
    holdouts: HoldoutRepository,
    files: FileSource,
    gateway: FineTuningBackend,
    clock: Clock,
) -> str:
    """The training part's file id on the holdout's backend: split the dataset (once), upload
    the training part unless the same content already was, store the held-out part."""
    if holdout.training_file_id:
        return holdout.training_file_id
    remote = files.info(dataset.slack_file_id, dataset.channel_id)
    with tempfile.TemporaryDirectory(prefix="ftbot-split-") as tmp:
        source = Path(tmp) / "data.jsonl"
        files.download(remote, source, max_bytes=max(remote.size, 1) * 2)
        total = sum(1 for _ in iter_records(source))
        held = held_out_positions(total, holdout.percent, holdout.seed)
        name = f"{Path(dataset.name).stem[:100]}.train.jsonl"
        training = Path(tmp) / name
        digest = hashlib.sha256()
        lines: list[int] = []
        kept: list[bytes] = []
        with training.open("wb") as out:
            for position, (number, value, _error) in enumerate(iter_records(source)):
                line = orjson.dumps(value) + b"\n"
                if position in held:
                    lines.append(number)
                    if len(kept) < KEPT_EXAMPLES:
                        kept.append(line)
                    continue
                digest.update(line)
                out.write(line)
        sha = digest.hexdigest()
        file_id = holdouts.uploaded_with_sha(sha256=sha, backend=holdout.backend)
        if file_id is None:
            file_id = gateway.upload(training, name=name)
    holdouts.record_split(
        job_id=holdout.job_id,
        split=SplitResult(
            total=total,
            training_count=total - len(lines),
            held_out_count=len(lines),
            training_sha256=sha,
            training_file_id=file_id,
            held_out_lines=lines,
            held_out_examples=b"".join(kept).decode(),
        ),
        now=clock.now(),
    )
    return file_id
