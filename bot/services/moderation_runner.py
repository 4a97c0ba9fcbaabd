"""Sending a content check's batches: at most `concurrency` requests at once and a bounded number
planned ahead (the file is streamed, never held whole), progress after each finished batch, and
a stop at the first request that fails for good (the SDK has retried 429s and 5xx by then): what
finished still counts, so the user gets a partial answer and can try again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from bot.core.jobs import ServiceError
from bot.core.moderation import Flag, Piece, Verdict, flags_of, merge

log = logging.getLogger(__name__)

Moderate = Callable[[list[str]], list[Verdict]]


@dataclass
class Outcome:
    """Flagged examples (by line), how many examples were fully checked, the requests made and
    the failure that stopped the check, if one did."""

    flags: list[Flag] = field(default_factory=list)
    checked: int = 0
    requests: int = 0
    error: ServiceError | None = None


def _ask(moderate: Moderate, batch: list[Piece]) -> list[Flag]:
    try:
        return flags_of(batch, moderate([piece.text for piece in batch]))
    except ServiceError:
        raise
    except Exception as error:  # a malformed answer: the check stops with a clear line
        log.exception("content check: a batch failed")
        raise ServiceError("unavailable", f"unexpected answer ({type(error).__name__})") from None


def run_batches(
    batches: Iterable[list[Piece]],
    moderate: Moderate,
    *,
    concurrency: int,
    progress: Callable[[int], None],
) -> Outcome:
    """Send every batch; `progress(examples done)` runs in the caller's thread after each one."""
    outcome = Outcome()
    found: list[Flag] = []
    finished: set[int] = set()  # examples whose last piece came back
    failed: set[int] = set()  # examples with a piece in a failed request
    pending: dict[Future[list[Flag]], list[Piece]] = {}
    planned = iter(batches)
    exhausted = False
    width = max(1, concurrency)
    with ThreadPoolExecutor(width, thread_name_prefix="moderation") as pool:
        while True:
            while not exhausted and outcome.error is None and len(pending) < 2 * width:
                batch = next(planned, None)
                if batch is None:
                    exhausted = True
                    break
                pending[pool.submit(_ask, moderate, batch)] = batch
                outcome.requests += 1
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                batch = pending.pop(future)
                try:
                    found.extend(future.result())
                except ServiceError as error:
                    outcome.error = outcome.error or error
                    failed.update(piece.line for piece in batch)
                    continue
                finished.update(piece.line for piece in batch if piece.last)
            progress(len(finished - failed))
    outcome.flags = merge(found)  # a flagged piece flags its example, whatever else failed
    outcome.checked = len(finished - failed)
    return outcome
