"""`finetune-bot fix FILE` and `finetune-bot split FILE`: the dataset doctor offline.

Each writes its output next to the input (or to -o), through a temporary file renamed into
place, so an interrupted run never leaves a half-written dataset behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from bot.cli import EXIT_NEEDS_FIXES, EXIT_VALID, UsageError, check_file
from bot.core.doctor import DROP, OVER_LIMIT_CHOICES, CannotFix, change_text, repair, summary_text
from bot.core.split import (
    DEFAULT_SEED,
    DEFAULT_VALIDATION,
    CannotSplit,
    check_share,
    fixed_name,
    part_names,
    split,
)

if TYPE_CHECKING:
    from bot.report_models import ReportModels

CLI_SHOWN_LINES = 1000  # the CLI lists every line number it kept


def _share(value: str) -> float:
    try:
        return check_share(float(value))
    except (ValueError, CannotSplit):
        raise argparse.ArgumentTypeError(
            f"must be a fraction between 0 and 1, like 0.1 (got {value[:24]!r})"
        ) from None


def _seed(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {value[:24]!r})")
    return int(value)


def add_doctor_commands(sub: Any) -> None:
    """The `fix` and `split` subcommands."""
    fix = sub.add_parser(
        "fix",
        help="write a repaired copy of a dataset",
        description="Write a repaired copy of a dataset: invalid examples and exact duplicates "
        "removed, a byte-order mark stripped, a JSON array written as JSONL, examples over the "
        "model's token limit dropped (or trimmed). Lists every change. Exit 0 when a copy was "
        "written or nothing needed fixing, 1 when the file is no dataset, 2 on a usage problem.",
    )
    fix.add_argument("file", type=Path, help="the .jsonl or .json dataset")
    fix.add_argument(
        "-o", "--output", type=Path, help="where to write the copy (default: NAME.fixed.jsonl)"
    )
    fix.add_argument(
        "--over-limit",
        choices=OVER_LIMIT_CHOICES,
        default=DROP,
        help="what to do with examples over the model's token limit: drop them (default) or "
        "trim them (oldest turns first, the final assistant reply kept)",
    )
    fix.add_argument(
        "--backend", choices=("openai", "together", "azure"), help="backend whose limits apply"
    )
    fix.add_argument("--model", help="base model whose token limit applies (as for validate)")
    part = sub.add_parser(
        "split",
        help="split a dataset into training and validation parts",
        description="Write NAME.train.jsonl and NAME.validation.jsonl next to the dataset: a "
        "seeded random share of the examples held out for validation (at least one on each "
        "side). Exit 0 when written, 1 when the file cannot be split, 2 on a usage problem.",
    )
    part.add_argument("file", type=Path, help="the .jsonl or .json dataset")
    part.add_argument(
        "--validation",
        type=_share,
        default=DEFAULT_VALIDATION,
        help=f"share held out for validation (default {DEFAULT_VALIDATION})",
    )
    part.add_argument(
        "--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )


def run_doctor(
    args: argparse.Namespace, models: Callable[[argparse.Namespace, dt.date], ReportModels]
) -> int:
    """Run `fix` or `split`; `models` chooses the model as `validate` does."""
    path: Path = args.file
    if args.command == "fix":
        model = models(args, dt.date.today()).model
        check_file(path)
        return _fix(path, args.output or path.with_name(fixed_name(path.name)), model, args)
    check_file(path)
    return _split(path, args.validation, args.seed)


def _fix(path: Path, output: Path, model: Any, args: argparse.Namespace) -> int:
    _not_the_input(path, output)
    try:
        with _written(output) as out:
            result = repair(path, out, model=model, over_limit=args.over_limit)
            if not result.changed:
                raise _NothingToDo
    except CannotFix as error:
        print(f"finetune-bot: {path}: {error}", file=sys.stderr)
        return EXIT_NEEDS_FIXES
    except _NothingToDo:
        print(f"Nothing to fix in {path.name}: no example needs removing or changing.")
        return EXIT_VALID
    for change in result.changes:
        print(f"- {change_text(change, result, shown=CLI_SHOWN_LINES)}")
    print(f"{summary_text(result)} Wrote {output}.")
    return EXIT_VALID


def _split(path: Path, share: float, seed: int) -> int:
    train_name, validation_name = part_names(path.name)
    train_path, validation_path = path.with_name(train_name), path.with_name(validation_name)
    _not_the_input(path, train_path)
    _not_the_input(path, validation_path)
    try:
        with _written(train_path) as train, _written(validation_path) as validation:
            result = split(path, train, validation, share=share, seed=seed)
    except CannotSplit as error:
        print(f"finetune-bot: {path}: {error}", file=sys.stderr)
        return EXIT_NEEDS_FIXES
    print(
        f"Wrote {train_path} ({result.training:,} examples) and {validation_path} "
        f"({result.validation:,} examples): {result.share:g} held out, seed {result.seed}."
    )
    return EXIT_VALID


class _NothingToDo(Exception):
    """The repaired copy would equal the input: nothing is written."""


def _not_the_input(path: Path, output: Path) -> None:
    if output.exists() and output.resolve() == path.resolve():
        raise UsageError(f"the output would overwrite the input: {output}")


@contextmanager
def _written(target: Path) -> Iterator[BinaryIO]:
    """A binary file that becomes `target` only when the block ends without an exception."""
    directory = target.parent if str(target.parent) else Path(".")
    with ExitStack() as stack:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
        stack.callback(lambda: Path(temporary).unlink(missing_ok=True))
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temporary, target)
