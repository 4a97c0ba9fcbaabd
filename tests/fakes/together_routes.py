"""Endpoint handlers of :class:`tests.fakes.fake_together.FakeTogether` (a mixin).

Each handler gets the recorded :class:`Call` plus the path groups and returns the JSON body (or a
raw :class:`Response`), or raises :class:`TogetherAPIError`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes._http import Response
from tests.fakes.openai_routes import Call
from tests.fakes.together_data import PRICE_PER_MILLION, TERMINAL, model_limits
from tests.fakes.together_state import StoredFile, TogetherState

PURPOSES = {"fine-tune", "calibration", "eval", "batch-api"}
FILE_TYPES = {"jsonl", "csv", "parquet"}
DEFAULT_ERRORS = {
    429: "You have exceeded the rate limit for this model. Please try again later.",
    500: "Internal server error",
    503: "The server is overloaded or not ready yet.",
}


class TogetherAPIError(Exception):
    """An error answered in Together's shape ``{"error": {message, type, param, code}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}


def _int(query: dict[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise TogetherAPIError(400, f"Invalid '{name}': expected an integer.", param=name) from None


class TogetherRoutes(TogetherState):
    """Files (presigned upload, preprocess), fine-tunes and chat over :class:`TogetherState`."""

    origin: str  # provided by FakeServer

    def routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
        """``(HTTP method, full-path regex, handler)`` in matching order."""
        ft = r"/v1/fine-tunes/(ft-[^/]+)"
        return [
            ("POST", re.compile(r"/v1/files"), self._files_create),
            ("GET", re.compile(r"/v1/files"), self._files_list),
            ("POST", re.compile(r"/v1/files/([^/]+)/preprocess"), self._files_preprocess),
            ("GET", re.compile(r"/v1/files/([^/]+)"), self._files_retrieve),
            ("DELETE", re.compile(r"/v1/files/([^/]+)"), self._files_delete),
            ("GET", re.compile(r"/v1/files/([^/]+)/content"), self._files_content),
            ("GET", re.compile(r"/v1/fine-tunes/models/limits"), self._model_limits),
            ("POST", re.compile(r"/v1/fine-tunes/estimate-price"), self._estimate_price),
            ("POST", re.compile(r"/v1/fine-tunes"), self._jobs_create),
            ("GET", re.compile(r"/v1/fine-tunes"), self._jobs_list),
            ("GET", re.compile(ft), self._jobs_retrieve),
            ("DELETE", re.compile(ft), self._jobs_delete),
            ("POST", re.compile(ft + "/cancel"), self._jobs_cancel),
            ("GET", re.compile(ft + "/events"), self._jobs_events),
            ("GET", re.compile(ft + "/checkpoints"), self._jobs_checkpoints),
            ("GET", re.compile(ft + "/metrics"), self._jobs_metrics),
            ("POST", re.compile(r"/v1/chat/completions"), self._chat),
        ]

    # -- files ---------------------------------------------------------------------------
    def _stored(self, file_id: str) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise TogetherAPIError(404, f"File {file_id} not found", param="id")
        return stored

    def _files_create(self, call: Call) -> Response:
        """Announce a file: 302 to a presigned PUT URL served by the fake itself."""
        form = call.form or {}
        for key in ("purpose", "file_name", "file_type", "checksum"):
            if not form.get(key):
                raise TogetherAPIError(400, f"Missing required field: '{key}'.", param=key)
        if form["purpose"] not in PURPOSES:
            raise TogetherAPIError(400, f"Invalid purpose: {form['purpose']!r}", param="purpose")
        if form["file_type"] not in FILE_TYPES:
            raise TogetherAPIError(400, f"Invalid file_type: {form['file_type']!r}")
        if self.dedupe_uploads:
            for stored in self.files.values():
                if stored.obj["checksum"] == form["checksum"] and stored.uploaded:
                    body = {"message": "File already exists", "file_id": stored.id}
                    return Response.json(body, 409)
        stored = self.new_file(
            name=form["file_name"],
            purpose=form["purpose"],
            file_type=form["file_type"],
            checksum=form["checksum"],
        )
        signature = secrets.token_hex(8)
        stored.obj["_signature"] = signature
        location = f"{self.origin}/presigned/{stored.id}?X-Amz-Signature={signature}"
        headers = {"Location": location, "X-Together-File-Id": stored.id}
        return Response(302, b"", headers)

    def presigned_put(self, call: Call, body: bytes, file_id: str) -> Response:
        """The storage side of the upload (no bearer key: the URL's signature is the grant)."""
        with self.lock:
            stored = self.files.get(file_id)
            signature = stored.obj.get("_signature") if stored else None
            if stored is None or call.query.get("X-Amz-Signature") != signature:
                return Response(403, b"<Error><Code>AccessDenied</Code></Error>")
            stored.content, stored.uploaded = body, True
            stored.obj["bytes"] = len(body)
        return Response(200, b"", {"ETag": f'"{uuid.uuid4().hex}"'})

    def _files_preprocess(self, call: Call, file_id: str) -> dict[str, Any]:
        stored = self._stored(file_id)
        if not stored.uploaded:
            raise TogetherAPIError(400, f"File {file_id} has no content uploaded yet")
        stored.obj.pop("_signature", None)
        if stored.obj["checksum"] != _sha256(stored.content):
            raise TogetherAPIError(400, "Checksum mismatch", param="checksum")
        stored.pending_polls = self.preprocess_polls
        if stored.pending_polls:
            stored.obj["processing_status"] = "RUNNING"
        else:
            self.finish_preprocessing(stored)
        return self.public_file(stored)

    def _files_retrieve(self, call: Call, file_id: str) -> dict[str, Any]:
        stored = self._stored(file_id)
        if stored.obj["processing_status"] == "RUNNING":
            if stored.pending_polls <= 0:
                self.finish_preprocessing(stored)
            stored.pending_polls -= 1
        return self.public_file(stored)

    def _files_list(self, call: Call) -> dict[str, Any]:
        return {"data": [self.public_file(f) for f in self.files.values() if f.uploaded]}

    def _files_delete(self, call: Call, file_id: str) -> dict[str, Any]:
        self._stored(file_id)
        del self.files[file_id]
        return {"id": file_id, "deleted": True}

    def _files_content(self, call: Call, file_id: str) -> Response:
        content = self._stored(file_id).content
        return Response(200, content, {"Content-Type": "application/octet-stream"})

    # -- fine-tunes ----------------------------------------------------------------------
    def _supported(self, model: Any, param: str = "model") -> str:
        if not isinstance(model, str) or model not in self.supported_models:
            raise TogetherAPIError(
                400, f"Model {model} is not supported for fine-tuning", param=param
            )
        return model

    def _valid_file(self, file_id: Any, param: str) -> StoredFile:
        stored = self.files.get(str(file_id))
        if stored is None or not stored.uploaded:
            raise TogetherAPIError(400, f"File {file_id} not found", param=param)
        if not (stored.obj.get("validation_report") or {}).get("valid"):
            raise TogetherAPIError(400, f"File {file_id} has not passed validation", param=param)
        return stored

    def _model_limits(self, call: Call) -> dict[str, Any]:
        return model_limits(self._supported(call.query.get("model_name"), "model_name"))

    def _estimate_price(self, call: Call) -> dict[str, Any]:
        body = call.json or {}
        self._supported(body.get("model"))
        stored = self.files.get(str(body.get("training_file")))
        if stored is None:
            file_id = body.get("training_file")
            raise TogetherAPIError(400, f"File {file_id} not found", param="training_file")
        status = stored.obj["processing_status"]
        if status != "COMPLETED":
            reason = (
                "train_file_invalid" if status == "INVALID_FORMAT" else "train_file_not_validated"
            )
            return {"estimation_available": False, "unavailable_reason": reason}
        tokens = float(len(stored.content) // 4 * int(body.get("n_epochs") or 1))
        eval_tokens = 0.0
        if body.get("validation_file") in self.files and body.get("n_evals"):
            eval_tokens = float(len(self.files[body["validation_file"]].content) // 4)
        return {
            "estimation_available": True,
            "allowed_to_proceed": self.allowed_to_proceed,
            "estimated_total_price": (tokens + eval_tokens) * PRICE_PER_MILLION / 1e6,
            "estimated_train_token_count": tokens,
            "estimated_eval_token_count": eval_tokens,
            "user_limit": 100.0,
        }

    def _jobs_create(self, call: Call) -> dict[str, Any]:
        body = call.json or {}
        if not body.get("training_file"):
            raise TogetherAPIError(400, "training_file is required", param="training_file")
        self._supported(body.get("model"))
        self._valid_file(body["training_file"], "training_file")
        if body.get("validation_file"):
            self._valid_file(body["validation_file"], "validation_file")
        limits = model_limits(body["model"])
        suffix = body.get("suffix")
        if suffix is not None and (len(suffix) > 40 or not re.fullmatch(r"[\w.-]*", suffix)):
            raise TogetherAPIError(400, "suffix must be at most 40 characters", param="suffix")
        epochs = body.get("n_epochs", 1)
        if not isinstance(epochs, int) or not 1 <= epochs <= limits["max_num_epochs"]:
            raise TogetherAPIError(400, f"n_epochs must be 1..20, got {epochs}", param="n_epochs")
        rate = body.get("learning_rate", 1e-5)
        if not isinstance(rate, int | float) or not (
            limits["min_learning_rate"] <= rate <= limits["max_learning_rate"]
        ):
            raise TogetherAPIError(
                400, f"learning_rate out of range: {rate}", param="learning_rate"
            )
        checkpoints = body.get("n_checkpoints", 1)
        if not isinstance(checkpoints, int) or not 1 <= checkpoints <= 20:
            raise TogetherAPIError(400, "n_checkpoints must be 1..20", param="n_checkpoints")
        method = (body.get("training_method") or {}).get("method", "sft")
        if method not in ("sft", "dpo"):
            raise TogetherAPIError(
                400, f"Unknown training method {method}", param="training_method"
            )
        return self.truncated(self.new_job(body))

    def _get_job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise TogetherAPIError(404, f"Fine-tune job {job_id} not found", param="id")
        return job

    def _jobs_list(self, call: Call) -> dict[str, Any]:
        return {"data": [self.truncated(j) for j in self.jobs_newest_first()]}

    def _jobs_retrieve(self, call: Call, job_id: str) -> dict[str, Any]:
        self._get_job(job_id)
        self.settle_cancel(job_id)
        return self._get_job(job_id)

    def _jobs_delete(self, call: Call, job_id: str) -> dict[str, Any]:
        self._get_job(job_id)
        del self.jobs[job_id]
        return {"message": f"Fine-tune job {job_id} deleted"}

    def _jobs_cancel(self, call: Call, job_id: str) -> dict[str, Any]:
        job = self._get_job(job_id)
        if job["status"] in TERMINAL or job["status"] == "cancel_requested":
            raise TogetherAPIError(400, f"Job {job_id} is {job['status']} and cannot be cancelled")
        return self.truncated(self.request_cancel(job_id))

    def _jobs_events(self, call: Call, job_id: str) -> dict[str, Any]:
        return {"data": list(self._get_job(job_id)["events"])}

    def _jobs_checkpoints(self, call: Call, job_id: str) -> dict[str, Any]:
        self._get_job(job_id)
        return {"data": self.checkpoints_of(job_id)}

    def _jobs_metrics(self, call: Call, job_id: str) -> dict[str, Any]:
        self._get_job(job_id)
        low = _int(call.query, "global_step_from")
        high = _int(call.query, "global_step_to")
        rows = [
            row
            for row in self.metrics_of(job_id)
            if (low is None or row["train/global_step"] >= low)
            and (high is None or row["train/global_step"] <= high)
        ]
        return {"metrics": rows}

    # -- chat ----------------------------------------------------------------------------
    def serves(self, model: str) -> bool:
        """Chat models, finished jobs' outputs and their checkpoints (``<output>:<step>``)."""
        with self.lock:
            if model in self.chat_models:
                return True
            output, _, step = model.rpartition(":")
            return any(
                job["model_output_name"] == output
                and any(str(c["step"]) == step for c in self._extra[job["id"]].checkpoints)
                for job in self.jobs.values()
            )

    def script_chat(self, *answers: dict[str, Any] | str) -> None:
        """Queue answers for the next chat completions (then the responder takes over)."""
        with self.lock:
            self.chat_script.extend(answers)

    def next_answer(self, body: dict[str, Any]) -> dict[str, Any] | str:
        """The scripted answer, else the responder's."""
        with self.lock:
            if self.chat_script:
                return self.chat_script.pop(0)
        return self.chat_responder(body)

    def _chat(self, call: Call) -> dict[str, Any]:
        body = call.json or {}
        model = body.get("model")
        if not isinstance(model, str) or not self.serves(model):
            raise TogetherAPIError(
                404,
                f"Unable to access model {model}. Please visit https://api.together.ai/models "
                "to view the list of supported models.",
                param="model",
                code="model_not_available",
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise TogetherAPIError(400, "messages must be a non-empty list", param="messages")
        if body.get("stream"):
            raise TogetherAPIError(400, "The fake does not implement streaming.", param="stream")
        reply = self.next_answer(body)
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
        if isinstance(reply, str):
            message["content"] = reply
        else:
            message.update(reply)
        finish = "stop"
        for index, tool_call in enumerate(message.get("tool_calls") or []):
            finish = "tool_calls"
            tool_call.setdefault("id", f"call_{secrets.token_hex(12)}")
            tool_call.setdefault("type", "function")
            tool_call.setdefault("index", index)
            function = tool_call.get("function") or {}
            if not isinstance(function.get("arguments"), str):
                function["arguments"] = json.dumps(function.get("arguments") or {})
        prompt = sum(4 + len(str(m.get("content") or "").split()) for m in messages)
        completion = max(1, len(str(message.get("content") or "").split()))
        return {
            "id": f"{secrets.token_hex(8)}-{secrets.token_hex(4)}",
            "object": "chat.completion",
            "created": _now(),
            "model": model,
            "prompt": [],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "logprobs": None,
                    "seed": secrets.randbelow(2**63),
                    "message": message,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _now() -> int:
    return int(time.time())
