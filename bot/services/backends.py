"""The fine-tuning backends, keyed by their contract names (product §9), and which one to use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.core.jobs import ServiceError
from bot.services.ports import FineTuningBackend, NotConfigured

OPENAI, TOGETHER, AZURE = "openai", "together", "azure"
NAMES = (OPENAI, TOGETHER, AZURE)
OPENAI_CLOSES = dt.date(2027, 1, 6)  # OpenAI takes no new fine-tuning jobs from this day


def backend_of_job_id(job_id: str) -> str:
    """The backend a remote job id belongs to, by its shape (`ftjob-…` OpenAI, `ft-…` Together);
    an `ftjob-…` id may also be Azure's: `Backends.of_job_id` asks when both are configured."""
    return TOGETHER if job_id.startswith("ft-") else OPENAI


def default_backend(configured: tuple[str, ...], *, chosen: str | None, today: dt.date) -> str:
    """FTBOT_DEFAULT_BACKEND when set; else OpenAI while it takes new jobs (and is configured),
    else the first configured of Together and Azure; OpenAI when nothing else is there."""
    if chosen:
        return chosen
    if OPENAI in configured and today < OPENAI_CLOSES:
        return OPENAI
    for name in (TOGETHER, AZURE):
        if name in configured:
            return name
    return OPENAI


class Backends:
    """The configured backends; any other name answers as not configured."""

    def __init__(
        self, backends: Mapping[str, FineTuningBackend], *, chosen_default: str | None = None
    ) -> None:
        unknown = set(backends) - set(NAMES)
        if unknown:
            raise ValueError(f"unknown backends: {sorted(unknown)}")
        self._backends = dict(backends)
        self._chosen_default = chosen_default

    def get(self, name: str) -> FineTuningBackend:
        """The backend called `name` (a NotConfigured stand-in when it is not configured)."""
        found = self._backends.get(name)
        return NotConfigured(name) if found is None else found

    def configured(self) -> tuple[str, ...]:
        """The names of the configured backends, in the contract's order."""
        return tuple(n for n in NAMES if self.get(n).configured)

    def default(self, today: dt.date) -> str:
        """The backend new jobs go to when none is named."""
        return default_backend(self.configured(), chosen=self._chosen_default, today=today)

    def of_job_id(self, job_id: str) -> str:
        """The backend holding the remote job `job_id`: Together for `ft-…`; an `ftjob-…` id
        exists on OpenAI and Azure, so with both configured, the one that knows it (OpenAI
        first; Azure when OpenAI answers not found)."""
        shape = backend_of_job_id(job_id)
        if shape != OPENAI:
            return shape
        candidates = [n for n in (OPENAI, AZURE) if self.get(n).configured]
        if len(candidates) < 2:
            return candidates[0] if candidates else OPENAI
        try:
            self.get(OPENAI).retrieve(job_id)
        except ServiceError as error:
            if error.kind == "not_found":
                return AZURE
        return OPENAI
