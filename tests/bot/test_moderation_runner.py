"""The content check's batch runner: bounded concurrency, progress by whole examples, a partial
outcome when a request fails for good (plain callables stand in for the endpoint: no SDK is
mocked; the adapter itself is driven against the fake OpenAI in tests/e2e)."""

from __future__ import annotations

import threading
import time

from bot.core.jobs import ServiceError
from bot.core.moderation import Flag, Piece, Verdict
from bot.services.moderation_runner import run_batches


def endpoint(*, delay: float = 0.0, fail_on: str | None = None, running: list[int] | None = None):  # type: ignore[no-untyped-def]
    lock = threading.Lock()

    def moderate(texts: list[str]) -> list[Verdict]:
        if running is not None:
            with lock:
                running[0] += 1
                running[1] = max(running[1], running[0])
        try:
            if delay:
                time.sleep(delay)
            if fail_on is not None and fail_on in texts:
                raise ServiceError("rate_limited", "Rate limit reached")
            return [Verdict("bad" in t, ("violence",) if "bad" in t else ()) for t in texts]
        finally:
            if running is not None:
                with lock:
                    running[0] -= 1

    return moderate


def test_every_batch_is_sent_at_bounded_concurrency_with_progress_in_order() -> None:
    work = [[Piece(n * 2 + 1, "ok"), Piece(n * 2 + 2, "bad" if n == 3 else "ok")] for n in range(8)]
    running = [0, 0]
    seen: list[int] = []
    outcome = run_batches(
        work,
        endpoint(delay=0.01, running=running),
        concurrency=2,
        progress=seen.append,
    )
    assert running[1] == 2
    assert outcome.requests == 8 and outcome.checked == 16 and outcome.error is None
    assert outcome.flags == [Flag(8, ("violence",))]
    assert seen == sorted(seen) and seen[-1] == 16 and len(seen) >= 4


def test_progress_counts_an_example_once_its_last_piece_is_back() -> None:
    seen: list[int] = []
    outcome = run_batches(
        [[Piece(1, "a", last=False)]], endpoint(), concurrency=1, progress=seen.append
    )
    assert (seen, outcome.checked) == ([0], 0)  # its first piece only: not checked yet
    work = [[Piece(1, "a", last=False)], [Piece(1, "b")], [Piece(2, "c")]]
    seen.clear()
    outcome = run_batches(work, endpoint(), concurrency=1, progress=seen.append)
    assert seen[-1] == 2 and seen == sorted(seen) and outcome.checked == 2


def test_a_failed_request_stops_the_check_and_keeps_what_finished() -> None:
    work = [
        [Piece(1, "bad")],
        [Piece(2, "x", last=False)],
        [Piece(2, "FAIL")],  # the rest of example 2: it is not counted as checked
        [Piece(3, "ok")],
        [Piece(4, "never sent")],
    ]
    sent: list[list[str]] = []
    moderate = endpoint(fail_on="FAIL")

    def recording(texts: list[str]) -> list[Verdict]:
        sent.append(texts)
        return moderate(texts)

    outcome = run_batches(work, recording, concurrency=1, progress=lambda done: None)
    assert outcome.error is not None and outcome.error.kind == "rate_limited"
    assert outcome.flags == [Flag(1, ("violence",))]
    # example 1, and 3 if it was already on its way; never 2, which lost its last piece
    assert outcome.checked == len(sent) - 2
    assert ["never sent"] not in sent  # nothing new is planned after the failure


def test_a_malformed_answer_is_a_service_error_not_a_crash() -> None:
    outcome = run_batches(
        [[Piece(1, "a"), Piece(2, "b")]],
        lambda texts: [Verdict(False)],  # one result for two inputs
        concurrency=1,
        progress=lambda done: None,
    )
    assert outcome.error is not None and outcome.error.kind == "unavailable"
    assert outcome.checked == 0 and outcome.flags == []
