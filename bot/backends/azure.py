"""Azure OpenAI through the official SDK's `openai.AzureOpenAI`: the FineTuningBackend port.

Azure's fine-tuning API is OpenAI's (same files, jobs, events, checkpoints, pause/resume and
result CSV) under `{endpoint}/openai/...?api-version=…` with the `api-key` header, so this
adapter is OpenAIGateway with three differences:

- every ServiceError names "Azure OpenAI";
- Azure's job-create body has no `metadata` (its REST reference lists model, training_file,
  validation_file, hyperparameters/method, suffix, seed and integrations only), so the
  exactly-once request key is carried in the suffix, as on Together
  (`together_shapes.carried_suffix`), and an ambiguous create is resolved by listing jobs;
- Azure's own job states (`created`, `pending`, `pausing`, `resuming`, …) are normalised to
  the bot's statuses.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from openai import AzureOpenAI

from bot.backends.together_shapes import CARRIED_KEY, carried_suffix, key_tag
from bot.core.jobs import JobSnapshot, snapshot_from
from bot.openai_gateway import OpenAIGateway

NAME = "azure"
TITLE = "Azure OpenAI"
# Azure's suffix holds at most 40 characters (a-z, A-Z, 0-9, - and _), as Together's does.
SUFFIX_MAX = 40
# Azure's job states (REST `FineTuningState`) in the bot's words; OpenAI's own pass unchanged.
STATUSES = {
    "created": "validating_files",
    "notrunning": "queued",
    "pending": "queued",
    "pausing": "running",  # still training until Azure says it is paused
    "resuming": "queued",
    "canceled": "cancelled",
}
FIND_LIMIT = 100  # the newest jobs searched for a request key after an ambiguous create


def normal_status(status: str) -> str:
    """Azure's job state as one of the bot's statuses (unknown ones unchanged)."""
    return STATUSES.get(status.lower(), status)


class AzureBackend(OpenAIGateway):
    """Azure OpenAI's files, fine-tuning jobs, events and checkpoints (pause/resume included)."""

    name = NAME
    title = TITLE

    def __init__(self, client: AzureOpenAI) -> None:
        # Azure takes training files up to 512 MB in one request (validation refuses larger
        # ones), so its files never go through the Uploads API.
        super().__init__(client, single_request_limit=512 * 1024 * 1024)

    def _snapshot(self, data: dict[str, Any]) -> JobSnapshot:
        snapshot = snapshot_from(data)
        return dataclasses.replace(snapshot, status=normal_status(snapshot.status))

    def create_job(self, *, metadata: dict[str, str], **params: Any) -> JobSnapshot:
        """Create a job once; the request key rides in the suffix (Azure has no metadata)."""
        suffix = carried_suffix(params.pop("suffix", None), metadata.get(CARRIED_KEY))
        with self._errors():
            job = self._client.with_options(max_retries=0).fine_tuning.jobs.create(
                suffix=suffix or None,
                **{k: v for k, v in params.items() if v is not None},
            )
            return self._snapshot(job.model_dump())

    def find_job(self, *, key: str, value: str) -> JobSnapshot | None:
        """The newest job whose suffix (or model name) carries the request key's tag."""
        if key != CARRIED_KEY:
            return None
        tag = key_tag(value)
        found: list[dict[str, Any]] = []
        with self._errors():
            for seen, job in enumerate(self._client.fine_tuning.jobs.list(limit=50)):
                if seen >= FIND_LIMIT:
                    break
                data = job.model_dump()
                carried = f"{data.get('suffix') or ''} {data.get('fine_tuned_model') or ''}"
                if tag in carried:
                    found.append(data)
        if not found:
            return None
        newest = max(found, key=lambda job: job.get("created_at") or 0)
        return self._snapshot(newest)
