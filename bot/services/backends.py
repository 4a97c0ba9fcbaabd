"""The fine-tuning backends, keyed by their contract names (product §9), and which one to use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

# The names and the default rule live in bot.core.backend_names (pure); re-exported here.
from bot.core.backend_names import AZURE as AZURE
from bot.core.backend_names import NAMES as NAMES
from bot.core.backend_names import OPENAI as OPENAI
from bot.core.backend_names import OPENAI_CLOSES as OPENAI_CLOSES
from bot.core.backend_names import TOGETHER as TOGETHER
from bot.core.backend_names import default_backend as default_backend
from bot.core.jobs import ServiceError
from bot.services.ports import FineTuningBackend, NotConfigured


def backend_of_job_id(job_id: str) -> str:
    """The backend a remote job id belongs to, by its shape (`ftjob-…` OpenAI, `ft-…` Together);
    an `ftjob-…` id may also be Azure's: `Backends.of_job_id` asks when both are configured."""
    return TOGETHER if job_id.startswith("ft-") else OPENAI


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
