"""Together's own price of a job (`total_price`, in nano-dollars) in the snapshot: only a real,
positive figure counts; 0 (not priced yet), a missing or mistyped value is unknown."""

from __future__ import annotations

from typing import Any

import pytest

from bot.backends.together_shapes import snapshot_of


@pytest.mark.parametrize(
    ("price", "billed"),
    [
        (1_230_000_000, 1.23),
        (48_000_000, 0.048),
        (1, 1e-9),
        (0, None),  # Together AI has not priced it (yet): unknown, not free
        (None, None),
        (-5, None),
        ("1230000000", None),
        (True, None),
        ([1], None),
    ],
)
def test_total_price_becomes_billed_usd(price: Any, billed: float | None) -> None:
    data = {"id": "ft-1", "status": "completed", "model": "m", "total_price": price}
    snapshot = snapshot_of(data, now=0.0)
    assert snapshot.billed_usd == (pytest.approx(billed) if billed is not None else None)


def test_no_total_price_at_all() -> None:
    assert snapshot_of({"id": "ft-1", "status": "running"}, now=0.0).billed_usd is None
