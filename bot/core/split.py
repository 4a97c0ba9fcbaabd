"""Dataset doctor, Split: a seeded train/validation split of a dataset file, streamed.

Two passes over the file: the first counts the examples (and refuses a file with lines that are
not JSON objects), the second writes each example to its part in the file's order. Which
examples go to validation depends only on the count, the share and the seed.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from bot.core.datasets import is_document, iter_raw_records, looks_like_dataset

DEFAULT_VALIDATION = 0.1
DEFAULT_SEED = 42
TRAIN_SUFFIX = ".train.jsonl"
VALIDATION_SUFFIX = ".validation.jsonl"
FIXED_SUFFIX = ".fixed.jsonl"
MAX_BASE = 150  # characters of the original name kept in a derived one (Slack names are short)


class CannotSplit(ValueError):
    """The file cannot be split as asked; one line for the user."""


@dataclass(frozen=True, slots=True)
class Split:
    """How a file was split."""

    examples: int
    training: int
    validation: int
    share: float
    seed: int


def validation_count(examples: int, share: float = DEFAULT_VALIDATION) -> int:
    """Examples held out: `share` of them rounded half up, at least 1, leaving at least 1."""
    if examples < 2:
        return 0
    return min(max(math.floor(examples * share + 0.5), 1), examples - 1)


def can_split(examples: int, minimum: int, share: float = DEFAULT_VALIDATION) -> bool:
    """Whether a split leaves a training part of at least `minimum` examples (and 1 held out)."""
    held = validation_count(examples, share)
    return held >= 1 and examples - held >= max(minimum, 1)


def validation_indexes(examples: int, share: float, seed: int) -> frozenset[int]:
    """The 0-based positions of the held-out examples: the same for the same count and seed."""
    return frozenset(random.Random(seed).sample(range(examples), validation_count(examples, share)))


def check_share(share: float) -> float:
    """`share` when it is a fraction strictly between 0 and 1; CannotSplit otherwise."""
    if not (isinstance(share, int | float) and math.isfinite(share) and 0 < share < 1):
        raise CannotSplit(f"the validation share must be between 0 and 1 (like 0.1), got {share}")
    return float(share)


def part_names(name: str) -> tuple[str, str]:
    """'data.jsonl' -> ('data.train.jsonl', 'data.validation.jsonl')."""
    stem = base_name(name)
    return stem + TRAIN_SUFFIX, stem + VALIDATION_SUFFIX


def fixed_name(name: str) -> str:
    """'data.jsonl' -> 'data.fixed.jsonl' (a JSON array becomes JSONL too)."""
    return base_name(name) + FIXED_SUFFIX


def base_name(name: str) -> str:
    """The name without its .jsonl/.json suffix (any case), at most MAX_BASE characters: a
    derived name keeps its suffix whatever the length of the original."""
    lower = name.lower()
    for suffix in (".jsonl", ".json"):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)][:MAX_BASE]
    return name[:MAX_BASE]


def validation_partner(name: str) -> str | None:
    """The validation part's name for a training part's name ('x.train.jsonl' ->
    'x.validation.jsonl'), None for any other name."""
    if name.lower().endswith(TRAIN_SUFFIX) and len(name) > len(TRAIN_SUFFIX):
        return name[: -len(TRAIN_SUFFIX)] + VALIDATION_SUFFIX
    return None


def split(
    source: str | Path,
    training: BinaryIO,
    validation: BinaryIO,
    *,
    share: float = DEFAULT_VALIDATION,
    seed: int = DEFAULT_SEED,
) -> Split:
    """Write the examples of `source` to `training` and `validation` (JSONL, in file order)."""
    share = check_share(share)
    if not looks_like_dataset(source):
        raise CannotSplit("it is not a dataset (binary, or text that is not JSON)")
    document = is_document(source)
    unit = "item" if document else "line"
    examples = 0
    for number, value, error, _raw in iter_raw_records(source, document=document):
        if error is not None or not isinstance(value, dict):
            raise CannotSplit(
                f"{unit} {number} is not a JSON object example: fix the file first "
                "(`finetune-bot fix`, or the report's Fix it button)"
            )
        examples += 1
    if examples < 2:
        raise CannotSplit(
            f"it has {examples} example{'' if examples == 1 else 's'}: a split needs at least 2"
        )
    held = validation_indexes(examples, share, seed)
    for index, (_n, value, _e, raw) in enumerate(iter_raw_records(source, document=document)):
        out = validation if index in held else training
        out.write(raw.strip() if raw is not None else _dumps(value))
        out.write(b"\n")
    return Split(examples, examples - len(held), len(held), share, seed)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # ints past 64 bits, lone surrogates
        return json.dumps(value, separators=(",", ":")).encode()
