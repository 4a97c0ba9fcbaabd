"""Thin adapter over openai.OpenAI for files and fine-tuning jobs; errors become ServiceError."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import openai
from openai import OpenAI

from bot.backends.chat import answer_and_usage
from bot.core.jobs import Checkpoint, JobSnapshot, ServiceError, snapshot_from
from bot.core.watch import Event

SINGLE_REQUEST_LIMIT = 512 * 1024 * 1024  # larger files go through the Uploads API in parts
PART_SIZE = 64 * 1024 * 1024
T = TypeVar("T")


@contextmanager
def _errors(backend: str = "OpenAI") -> Iterator[None]:
    """Translate SDK exceptions into ServiceError kinds naming `backend` (its display name)."""

    def failure(kind: str, message: str, *, param: str | None = None) -> ServiceError:
        return ServiceError(kind, message, param=param, backend=backend)

    try:
        yield
    except openai.PermissionDeniedError as error:
        # Only OpenAI's own platform answers the wind-down code.
        if error.code == "training_not_available" and backend == "OpenAI":
            raise failure("training_not_available", error.message) from None
        raise failure("auth", error.message) from None
    except openai.AuthenticationError as error:
        raise failure("auth", error.message) from None
    except openai.NotFoundError as error:
        raise failure("not_found", _message(error), param=error.param) from None
    except openai.RateLimitError as error:
        raise failure("rate_limited", _message(error)) from None
    except (openai.BadRequestError, openai.UnprocessableEntityError, openai.ConflictError) as error:
        raise failure("invalid_request", _message(error), param=error.param) from None
    except openai.APIStatusError as error:
        raise failure("unavailable", f"HTTP {error.status_code}") from None
    except openai.APIConnectionError as error:  # includes timeouts
        raise failure("unavailable", type(error).__name__) from None
    except (openai.APIResponseValidationError, ValueError) as error:  # malformed answer
        raise failure("unavailable", f"unexpected answer ({type(error).__name__})") from None


def _message(error: openai.APIError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    return str(body.get("message") or error.message)


def retry(call: Callable[[], T], *, attempts: int = 3, delay: float = 0.5) -> T:
    """Run `call`, trying again on retryable ServiceErrors with a short backoff."""
    for attempt in range(attempts):
        try:
            return call()
        except ServiceError as error:
            if not error.retryable or attempt == attempts - 1:
                raise
            time.sleep(delay * 2**attempt)
    raise AssertionError("unreachable")


def _event(item: Any) -> Event:
    data = item.data if isinstance(getattr(item, "data", None), dict) else {}
    return Event(
        id=str(item.id),
        created_at=int(item.created_at or 0),
        level=str(item.level or "info"),
        message=str(item.message or ""),
        type=str(getattr(item, "type", None) or "message"),
        data=data,
    )


class OpenAIGateway:
    """OpenAI's files, uploads, fine-tuning jobs, events, checkpoints, models and chat
    completions through the official SDK client (the FineTuningBackend port)."""

    configured = True
    title = "OpenAI"  # the display name its ServiceErrors carry

    def __init__(
        self,
        client: OpenAI,
        *,
        single_request_limit: int = SINGLE_REQUEST_LIMIT,
        part_size: int = PART_SIZE,
    ) -> None:
        self._client = client
        self._single_request_limit = single_request_limit
        self._part_size = part_size

    def _errors(self) -> AbstractContextManager[None]:
        """SDK exceptions as ServiceErrors naming this backend."""
        return _errors(self.title)

    def _snapshot(self, data: dict[str, Any]) -> JobSnapshot:
        """A JobSnapshot from the API's job object (an adapter may normalise it further)."""
        return snapshot_from(data)

    def upload(self, path: Path, *, name: str) -> str:
        """Upload a dataset with purpose fine-tune; returns the OpenAI file id."""
        size = path.stat().st_size
        with self._errors():
            if size <= self._single_request_limit:
                with path.open("rb") as handle:
                    created = self._client.files.create(
                        file=(name, handle, "application/jsonl"), purpose="fine-tune"
                    )
                return created.id
            upload = self._client.uploads.upload_file_chunked(
                file=path,  # named as the dataset: the caller put it at tmp/<name>
                bytes=size,
                mime_type="application/jsonl",
                purpose="fine-tune",
                part_size=self._part_size,
            )
            if upload.file is None:
                raise ServiceError("unavailable", "the upload did not produce a file")
            return str(upload.file.id)

    def create_job(self, *, metadata: dict[str, str], **params: Any) -> JobSnapshot:
        """Create a job once: no SDK retry (a re-sent POST could start two jobs)."""
        with self._errors():
            job = self._client.with_options(max_retries=0).fine_tuning.jobs.create(
                metadata=metadata, **{k: v for k, v in params.items() if v is not None}
            )
            return self._snapshot(job.model_dump())

    def find_job(self, *, key: str, value: str) -> JobSnapshot | None:
        """A job carrying metadata key=value (after an ambiguous create failure)."""
        with self._errors():
            page = self._client.fine_tuning.jobs.list(metadata={key: value}, limit=5)
            for job in page.data:
                if (job.metadata or {}).get(key) == value:
                    return self._snapshot(job.model_dump())
        return None

    def retrieve(self, job_id: str) -> JobSnapshot:
        """The job's current state."""
        with self._errors():
            return self._snapshot(self._client.fine_tuning.jobs.retrieve(job_id).model_dump())

    def act(self, action: str, job_id: str) -> JobSnapshot:
        """cancel, pause or resume a job."""
        jobs = self._client.fine_tuning.jobs
        call: Callable[[str], Any] = {
            "cancel": jobs.cancel,
            "pause": jobs.pause,
            "resume": jobs.resume,
        }[action]
        with self._errors():
            return self._snapshot(call(job_id).model_dump())

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Event], bool]:
        """One page of events, newest first, and whether older ones follow."""
        with self._errors():
            page = self._client.fine_tuning.jobs.list_events(
                job_id, limit=limit, after=after or openai.omit
            )
            return [_event(item) for item in page.data], bool(page.has_more)

    def checkpoints(self, job_id: str) -> list[Checkpoint]:
        """The job's checkpoints (step, model name, metrics), oldest first."""
        with self._errors():
            items = list(self._client.fine_tuning.jobs.checkpoints.list(job_id, limit=50))
        found = [
            Checkpoint(
                step=int(item.step_number),
                model=str(item.fine_tuned_model_checkpoint),
                metrics={
                    k: float(v)
                    for k, v in (item.metrics.model_dump() if item.metrics else {}).items()
                    if isinstance(v, int | float)
                },
            )
            for item in items
        ]
        return sorted(found, key=lambda c: c.step)

    def file_content(self, file_id: str) -> bytes:
        """A file's bytes (the job's result CSV)."""
        with self._errors():
            return self._client.files.content(file_id).content

    def chat(self, *, model: str, messages: list[dict[str, Any]]) -> tuple[str, int, int]:
        """One chat completion: (answer, prompt tokens, completion tokens)."""
        with self._errors():
            response = self._client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
        return answer_and_usage(response)

    def delete_model(self, name: str) -> bool:
        """Delete a fine-tuned model; True when OpenAI confirms."""
        with self._errors():
            return bool(self._client.models.delete(name).deleted)

    def chat_with_tools(
        self, *, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """One chat turn that may call tools: the assistant message as a plain dict."""
        with self._errors():
            response = self._client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                tools=tools,  # type: ignore[arg-type]
            )
        if not response.choices:
            raise ServiceError("unavailable", "the chat model returned no answer")
        return response.choices[0].message.model_dump(exclude_none=True)
