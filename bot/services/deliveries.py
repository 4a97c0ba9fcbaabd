"""Slack deliveries taken once: a retried event or a double click is recognised, on any replica."""

from __future__ import annotations

from bot.services.ports import Clock
from storage.repositories import DeliveryRepository


class Deliveries:
    """`first_time(key)`: True only for the first caller with that key, across replicas."""

    def __init__(self, *, repo: DeliveryRepository, clock: Clock) -> None:
        self._repo = repo
        self._clock = clock

    def first_time(self, key: str) -> bool:
        """Record `key`; True only the first time anyone records it."""
        return self._repo.first_time(event_id=key, now=self._clock.now())

    def forget(self, key: str) -> None:
        """Let `key` be taken again (the work claimed under it failed before anything was sent)."""
        self._repo.forget(event_id=key)
