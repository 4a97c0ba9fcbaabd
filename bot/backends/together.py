"""Together AI through the official `together` SDK (v3): the FineTuningBackend port.

Requests arrive in OpenAI's shape (bot/services/uploads.py `create_once`) and are mapped in
`together_shapes`; events and metrics are merged in `together_events`. Every failure is a
ServiceError with the kinds OpenAIGateway uses, never an SDK error.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import together
from together import Together
from together.lib import FileTypeError

from bot.backends.chat import answer_and_usage
from bot.backends.together_events import EventStreams, epoch, row_step
from bot.backends.together_shapes import (
    CARRIED_KEY,
    DEFAULT_EVALS,
    METHODS,
    as_dict,
    job_request,
    jsonl_name,
    key_tag,
    normalised_copy,
    refuse,
    snapshot_of,
)
from bot.core.backend_names import BACKEND_NAMES, TOGETHER
from bot.core.jobs import Checkpoint, JobSnapshot, ServiceError
from bot.core.watch import Event

NAME = "together"
CAPABILITIES = frozenset({"cancel", "events", "checkpoints", "metrics", "estimate_price", "chat"})
NO_METRICS_YET = frozenset({"pending", "queued"})  # raw statuses: nothing trained yet
PROCESSING = frozenset({"PENDING", "QUEUED", "RUNNING"})  # files still being checked
MAX_STATUSES = 10_000
FRESH_SECONDS = 2.0  # how long the events a retrieve carried stand in for a list_events call


def _failure(kind: str, message: str, *, param: str | None = None) -> ServiceError:
    """A ServiceError that says it came from Together."""
    return ServiceError(kind, message, param=param, backend=BACKEND_NAMES[TOGETHER])


def _message(error: together.APIError) -> str:
    body = as_dict(error.body)
    inner = as_dict(body.get("error")) or body
    return str(inner.get("message") or error.message)


def _param(error: together.APIError) -> str | None:
    param = as_dict(as_dict(error.body).get("error")).get("param")
    return str(param) if param else None


@contextmanager
def _errors(*, local_checks: bool = False) -> Iterator[None]:
    """Translate SDK exceptions into ServiceError kinds (`local_checks`: the SDK's own
    ValueErrors about the request are the caller's invalid request)."""
    try:
        yield
    except (together.AuthenticationError, together.PermissionDeniedError):
        raise _failure("auth", "Together AI refused the API key (TOGETHER_API_KEY)") from None
    except together.NotFoundError as error:
        raise _failure("not_found", _message(error), param=_param(error)) from None
    except together.RateLimitError as error:
        raise _failure("rate_limited", _message(error)) from None
    except (
        together.BadRequestError,
        together.UnprocessableEntityError,
        together.ConflictError,
    ) as error:
        raise _failure("invalid_request", _message(error), param=_param(error)) from None
    except together.APIStatusError as error:
        raise _failure("unavailable", f"HTTP {error.status_code}") from None
    except together.APIConnectionError as error:  # includes timeouts
        raise _failure("unavailable", type(error).__name__) from None
    except together.APIResponseValidationError as error:
        raise _failure("unavailable", f"unexpected answer ({type(error).__name__})") from None
    except FileTypeError as error:
        raise _failure("invalid_request", str(error)) from None
    except json.JSONDecodeError as error:  # a malformed answer
        raise _failure("unavailable", f"unexpected answer ({type(error).__name__})") from None
    except ValueError as error:
        if not local_checks:
            raise _failure("unavailable", f"unexpected answer ({type(error).__name__})") from None
        raise _failure("invalid_request", str(error).splitlines()[0]) from None


class TogetherBackend:
    """Together AI's files, fine-tunes, events, metrics, checkpoints and chat completions
    through the official SDK client (the FineTuningBackend port, plus `estimate_price`)."""

    configured = True
    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: Together,
        *,
        poll_interval: float = 2.0,
        preprocess_timeout: float = 600.0,
    ) -> None:
        self._client = client
        self._poll_interval = poll_interval
        self._preprocess_timeout = preprocess_timeout
        self._streams = EventStreams()
        self._statuses: OrderedDict[str, str] = OrderedDict()  # last raw status seen per job
        # The events a retrieve just carried (Together's job object lists them), taken once by
        # the next `events` call: a poll cycle then costs retrieve + metrics, not three calls.
        self._carried: OrderedDict[str, tuple[float, list[dict[str, Any]]]] = OrderedDict()
        self._lock = threading.Lock()  # jobs are polled from several threads

    # -- files ---------------------------------------------------------------------------
    def upload(self, path: Path, *, name: str) -> str:
        """Upload a normalised copy (presigned URL, then preprocessing); returns the file id
        once Together has accepted it, or raises invalid_request with Together's reason."""
        with tempfile.TemporaryDirectory(prefix="ftbot-together-") as tmp:
            copy = normalised_copy(path, Path(tmp) / jsonl_name(name))
            with _errors():
                uploaded = self._client.files.upload(copy, purpose="fine-tune", check=False)
        return self._preprocessed(uploaded.id, uploaded.processing_status)

    def _preprocessed(self, file_id: str, status: str | None) -> str:
        """Wait (bounded) for Together's preprocessing; raise its reason when it rejects."""
        deadline = time.monotonic() + self._preprocess_timeout
        report = None
        while status in PROCESSING:
            if time.monotonic() >= deadline:
                raise _failure("unavailable", "Together AI is still checking the file")
            time.sleep(self._poll_interval)
            with _errors():
                file = self._client.files.retrieve(file_id)
            status, report = file.processing_status, file.validation_report
        if status not in ("FAILED", "INVALID_FORMAT") and (report is None or report.valid):
            return file_id
        if report is None:
            with _errors():
                report = self._client.files.retrieve(file_id).validation_report
        if report is not None and (report.error or not report.valid):
            reason = report.error or "Together AI found the file invalid"
            raise _failure("invalid_request", f"Together AI rejected the file: {reason}")
        raise _failure("unavailable", f"Together AI could not process the file ({status})")

    def file_content(self, file_id: str) -> bytes:
        """Together jobs have no result files (the loss chart comes from the metrics events)."""
        raise _failure("not_found", f"Together AI has no result file {file_id}")

    # -- jobs ----------------------------------------------------------------------------
    def _snapshot(self, data: Mapping[str, Any]) -> JobSnapshot:
        job_id, raw = str(data.get("id") or ""), str(data.get("status") or "")
        events = data.get("events")
        with self._lock:
            if job_id:
                self._statuses[job_id] = raw
                self._statuses.move_to_end(job_id)
                if isinstance(events, list):
                    items = [dict(e) for e in events if isinstance(e, Mapping)]
                    self._carried[job_id] = (time.monotonic(), items)
                    self._carried.move_to_end(job_id)
            for cache in (self._statuses, self._carried):
                while len(cache) > MAX_STATUSES:
                    cache.popitem(last=False)
        return snapshot_of(data, now=time.time())

    def _listed_events(self, job_id: str) -> list[dict[str, Any]]:
        """The job's events: those its retrieve just carried, else a list_events call."""
        with self._lock:
            carried = self._carried.pop(job_id, None)
        if carried is not None and time.monotonic() - carried[0] <= FRESH_SECONDS:
            return carried[1]
        listed = self._client.fine_tuning.list_events(job_id).data
        return [item.to_dict(mode="json", warnings=False) for item in listed]

    def create_job(self, *, metadata: dict[str, str], **params: Any) -> JobSnapshot:
        """Create a job once (no SDK retry: a re-sent POST could start two jobs); the request
        key travels in the suffix since Together has no metadata."""
        request = job_request(params, key=metadata.get(CARRIED_KEY))
        with _errors(local_checks=True):
            job = self._client.with_options(max_retries=0).fine_tuning.create(**request)
        return self._snapshot(job.to_dict(mode="json", warnings=False))

    def find_job(self, *, key: str, value: str) -> JobSnapshot | None:
        """The newest job whose suffix carries the request key (after an ambiguous create)."""
        if key != CARRIED_KEY:
            return None
        tag = key_tag(value)
        with _errors():
            jobs = [
                job.to_dict(mode="json", warnings=False)
                for job in self._client.fine_tuning.list().data
            ]
        found = [
            job
            for job in jobs
            if tag in str(job.get("suffix") or "") or tag in str(job.get("model_output_name") or "")
        ]
        if not found:
            return None
        return self._snapshot(max(found, key=lambda job: epoch(job.get("created_at")) or 0))

    def retrieve(self, job_id: str) -> JobSnapshot:
        """The job's current state."""
        with self._lock:
            self._carried.pop(job_id, None)  # older than what this read may fail to replace
        with _errors():
            job = self._client.fine_tuning.retrieve(job_id)
        return self._snapshot(job.to_dict(mode="json", warnings=False))

    def act(self, action: str, job_id: str) -> JobSnapshot:
        """Cancel a job; Together cannot pause or resume one."""
        if action in ("pause", "resume"):
            raise _failure("invalid_request", f"Together AI cannot {action} jobs")
        if action != "cancel":
            raise _failure("invalid_request", f"Together AI has no {action} action")
        with _errors():
            job = self._client.fine_tuning.cancel(job_id)
        return self._snapshot(job.to_dict(mode="json", warnings=False))

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Event], bool]:
        """One page of events and metrics events, newest first, and whether older ones follow.

        Right after a retrieve its events are used (no call); metrics are read only once the
        job may have trained. An unchanged job costs the watcher at most two calls a cycle."""
        if after and self._streams.has(job_id, after):
            return self._streams.page(job_id, after=after, limit=limit)
        with _errors():
            listed = self._listed_events(job_id)
            rows = []
            with self._lock:
                status = self._statuses.get(job_id)
            if status not in NO_METRICS_YET:
                rows = self._metrics(job_id, since=self._streams.last_step(job_id))
        self._streams.update(job_id, events=listed, metrics=rows)
        return self._streams.page(job_id, after=after, limit=limit)

    def _metrics(self, job_id: str, *, since: int | None = None) -> list[dict[str, Any]]:
        response = self._client.fine_tuning.list_metrics(
            job_id, global_step_from=since if since is not None else together.omit
        )
        return [dict(row) for row in response.metrics or []]

    def checkpoints(self, job_id: str) -> list[Checkpoint]:
        """Intermediate checkpoints (the final one is the job's model), oldest first, named
        `<model_output_name>:<step>` as Together names checkpoints, with their step's metrics."""
        with _errors():
            job = self._client.fine_tuning.retrieve(job_id).to_dict(mode="json", warnings=False)
            items = self._client.fine_tuning.list_checkpoints(job_id).data
            rows = self._metrics(job_id) if items else []
        output = str(job.get("model_output_name") or job_id)
        figures: dict[int, dict[str, float]] = {}
        for row in rows:
            step = row_step(row)
            if step is not None:
                for key, name in (("train/loss", "train_loss"), ("eval/loss", "valid_loss")):
                    if isinstance(row.get(key), int | float):
                        figures.setdefault(step, {})[name] = float(row[key])
        found = {
            int(item.step): Checkpoint(
                step=int(item.step),
                model=f"{output}:{int(item.step)}",
                metrics=figures.get(int(item.step), {}),
            )
            for item in items
            if "final" not in item.checkpoint_type.lower()
        }
        return [found[step] for step in sorted(found)]

    def estimate_price(
        self,
        *,
        training_file: str,
        model: str,
        n_epochs: int | None = None,
        validation_file: str | None = None,
        method: str = "supervised",
        training_type: str = "lora",
    ) -> tuple[float, int]:
        """Together's own quote for a job: (USD, training tokens)."""
        body: dict[str, Any] = {"training_file": training_file, "model": model}
        kind = METHODS.get(method)
        if kind is None:
            raise refuse("method", f"Together AI cannot train with the {method} method")
        body["training_method"] = (
            {"method": "sft", "train_on_inputs": "auto"} if kind == "sft" else {"method": "dpo"}
        )
        if n_epochs:
            body["n_epochs"] = n_epochs
        if validation_file:
            body.update(validation_file=validation_file, n_evals=DEFAULT_EVALS)
        if training_type == "full":
            body["training_type"] = {"type": "Full"}
        with _errors():
            answer = self._client.fine_tuning.estimate_price(**body)
        if not answer.estimation_available:
            reason = str(getattr(answer, "unavailable_reason", "") or "unknown")
            kind = "unavailable" if reason.endswith("not_validated") else "invalid_request"
            raise _failure(kind, f"Together AI cannot estimate the price ({reason})")
        price = getattr(answer, "estimated_total_price", None) or 0.0
        tokens = getattr(answer, "estimated_train_token_count", None) or 0
        return float(price), int(tokens)

    # -- models and chat -----------------------------------------------------------------
    def delete_model(self, name: str) -> bool:
        """Refused: fine-tuned models are deleted in Together's console, not through this API."""
        raise _failure(
            "invalid_request",
            f"Together AI cannot delete {name} from here: use Together AI's console",
        )

    def chat(self, *, model: str, messages: list[dict[str, Any]]) -> tuple[str, int, int]:
        """One chat completion: (answer, prompt tokens, completion tokens)."""
        with _errors():
            response = self._client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
        return answer_and_usage(response)

    def chat_with_tools(
        self, *, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """One chat turn that may call tools: the assistant message as a plain dict."""
        with _errors():
            response = self._client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                tools=tools,  # type: ignore[arg-type]
            )
        message = response.choices[0].message if response.choices else None
        if message is None:
            raise _failure("unavailable", "the chat model returned no answer")
        answer = message.model_dump(exclude_none=True)
        if not answer.get("tool_calls"):
            answer.pop("tool_calls", None)
        return answer
