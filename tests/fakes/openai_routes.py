"""Endpoint handlers of :class:`tests.fakes.fake_openai.FakeOpenAI` (a mixin).

Each handler gets the recorded :class:`Call` (parsed JSON / multipart) plus the path groups and
returns the JSON body (or a raw :class:`Response`), or raises :class:`APIError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes._http import FilePart, Response
from tests.fakes.openai_state import TERMINAL, OpenAIState, StoredFile, new_id, now

TRAINING_NOT_AVAILABLE = (
    "OpenAI is winding down the fine-tuning platform and your organization is no longer able "
    "to create new fine-tuning training jobs. Learn more "
    "https://developers.openai.com/api/docs/deprecations#update-to-openais-self-serve-fine-tuning"
)
AZURE_NO_KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
AZURE_NO_VERSION_MESSAGE = "Missing API version parameter: api-version is required."
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
    "blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
DEFAULT_ERRORS = {
    429: ("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}
_FILE_PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}


class APIError(Exception):
    """An error answered in OpenAI's shape ``{"error": {message, type, param, code}}``."""

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


@dataclass
class Call:
    """One request received by the fake."""

    method: str
    path: str
    query: dict[str, str]
    json: dict[str, Any] | None
    form: dict[str, str] | None
    files: dict[str, FilePart] | None
    headers: dict[str, str]
    time: float
    status: int = 0
    fault: str | None = None


def _page(items: list[dict[str, Any]], query: dict[str, str], default_limit: int) -> dict[str, Any]:
    """Cursor page over newest-first ``items``: ``after`` = id of the previous page's last item."""
    try:
        limit = int(query.get("limit") or default_limit)
    except ValueError:
        raise APIError(400, "Invalid 'limit': expected an integer.", param="limit") from None
    if limit < 1:
        raise APIError(400, "Invalid 'limit': must be at least 1.", param="limit")
    start = 0
    after = query.get("after")
    if after:
        ids = [i["id"] for i in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    data = items[start : start + limit]
    return {
        "object": "list",
        "data": data,
        "has_more": start + limit < len(items),
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


class OpenAIRoutes(OpenAIState):
    """Files, uploads, fine-tuning, models and chat endpoints over :class:`OpenAIState`."""

    def routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
        """``(HTTP method, full-path regex, handler)`` in matching order."""
        return [
            ("POST", re.compile(r"/v1/files"), self._files_create),
            ("GET", re.compile(r"/v1/files"), self._files_list),
            ("GET", re.compile(r"/v1/files/([^/]+)"), self._files_retrieve),
            ("DELETE", re.compile(r"/v1/files/([^/]+)"), self._files_delete),
            ("GET", re.compile(r"/v1/files/([^/]+)/content"), self._files_content),
            ("POST", re.compile(r"/v1/uploads"), self._uploads_create),
            ("POST", re.compile(r"/v1/uploads/([^/]+)/parts"), self._uploads_part),
            ("POST", re.compile(r"/v1/uploads/([^/]+)/complete"), self._uploads_complete),
            ("POST", re.compile(r"/v1/uploads/([^/]+)/cancel"), self._uploads_cancel),
            ("POST", re.compile(r"/v1/fine_tuning/jobs"), self._jobs_create),
            ("GET", re.compile(r"/v1/fine_tuning/jobs"), self._jobs_list),
            ("GET", re.compile(r"/v1/fine_tuning/jobs/([^/]+)"), self._jobs_retrieve),
            (
                "POST",
                re.compile(r"/v1/fine_tuning/jobs/([^/]+)/(cancel|pause|resume)"),
                self._jobs_action,
            ),
            ("GET", re.compile(r"/v1/fine_tuning/jobs/([^/]+)/events"), self._jobs_events),
            (
                "GET",
                re.compile(r"/v1/fine_tuning/jobs/([^/]+)/checkpoints"),
                self._jobs_checkpoints,
            ),
            ("GET", re.compile(r"/v1/models"), self._models_list),
            ("GET", re.compile(r"/v1/models/(.+)"), self._models_retrieve),
            ("DELETE", re.compile(r"/v1/models/(.+)"), self._models_delete),
            ("POST", re.compile(r"/v1/chat/completions"), self._chat),
            ("POST", re.compile(r"/v1/moderations"), self._moderations),
        ]

    def _moderations(self, call: Call) -> dict[str, Any]:
        from tests.fakes.openai_moderation import moderations

        return moderations(call.json or {}, self.moderation_markers)

    # -- files ---------------------------------------------------------------------------
    def _stored(self, file_id: str) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise APIError(404, f"No such File object: {file_id}", param="id")
        return stored

    def _files_create(self, call: Call) -> dict[str, Any]:
        form, files = call.form or {}, call.files or {}
        purpose = form.get("purpose")
        if "file" not in files:
            raise APIError(400, "Missing required parameter: 'file'.", param="file")
        if purpose not in _FILE_PURPOSES:
            raise APIError(400, f"Invalid value for 'purpose': {purpose!r}.", param="purpose")
        part = files["file"]
        name = part.filename or "upload"
        if purpose == "fine-tune" and not name.endswith(".jsonl"):
            raise APIError(
                400, "Invalid file format for Fine-Tuning API. Must be .jsonl", param="file"
            )
        return self.add_file(part.content, name, purpose)

    def _files_list(self, call: Call) -> dict[str, Any]:
        purpose = call.query.get("purpose")
        items = [f.obj for f in self.files.values() if not purpose or f.obj["purpose"] == purpose]
        items.sort(key=lambda o: o["created_at"], reverse=call.query.get("order", "desc") == "desc")
        return _page(items, call.query, 10000)

    def _files_retrieve(self, call: Call, file_id: str) -> dict[str, Any]:
        return self._stored(file_id).obj

    def _files_delete(self, call: Call, file_id: str) -> dict[str, Any]:
        self._stored(file_id)
        del self.files[file_id]
        return {"id": file_id, "object": "file", "deleted": True}

    def _files_content(self, call: Call, file_id: str) -> Response:
        stored = self._stored(file_id)
        content = stored.content
        if self.result_file_base64 and stored.obj["purpose"] == "fine-tune-results":
            content = base64.b64encode(content)
        return Response(200, content, {"Content-Type": "application/octet-stream"})

    # -- uploads -------------------------------------------------------------------------
    def _upload(self, upload_id: str, *, pending: bool = True) -> dict[str, Any]:
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise APIError(404, f"No such Upload object: {upload_id}", param="upload_id")
        if pending and upload["status"] != "pending":
            raise APIError(400, f"Upload {upload_id} is already {upload['status']}.")
        return upload

    def _uploads_create(self, call: Call) -> dict[str, Any]:
        body = call.json or {}
        for key in ("bytes", "filename", "mime_type", "purpose"):
            if body.get(key) is None:
                raise APIError(400, f"Missing required parameter: '{key}'.", param=key)
        if not isinstance(body["bytes"], int) or not 0 < body["bytes"] <= 8 * 1024**3:
            raise APIError(400, "Invalid 'bytes': must be between 1 and 8 GB.", param="bytes")
        created = now()
        upload = {
            "id": new_id("upload_"),
            "object": "upload",
            "bytes": body["bytes"],
            "created_at": created,
            "filename": body["filename"],
            "purpose": body["purpose"],
            "status": "pending",
            "expires_at": created + 3600,
            "file": None,
        }
        self.uploads[upload["id"]] = upload
        return upload

    def _uploads_part(self, call: Call, upload_id: str) -> dict[str, Any]:
        self._upload(upload_id)
        part = (call.files or {}).get("data")
        if part is None:
            raise APIError(400, "Missing required parameter: 'data'.", param="data")
        if len(part.content) > 64 * 1024**2:
            raise APIError(400, "Each part can be at most 64 MB.", param="data")
        part_id = new_id("part_")
        self.upload_parts[part_id] = (upload_id, part.content)
        return {"id": part_id, "object": "upload.part", "created_at": now(), "upload_id": upload_id}

    def _uploads_complete(self, call: Call, upload_id: str) -> dict[str, Any]:
        upload = self._upload(upload_id)
        body = call.json or {}
        part_ids = body.get("part_ids") or []
        chunks = []
        for part_id in part_ids:
            owner, content = self.upload_parts.get(part_id, ("", b""))
            if owner != upload_id:
                raise APIError(400, f"Invalid part ID: {part_id}", param="part_ids")
            chunks.append(content)
        content = b"".join(chunks)
        if len(content) != upload["bytes"]:
            raise APIError(
                400,
                f"The number of bytes uploaded ({len(content)}) does not match the number of "
                f"bytes declared at creation ({upload['bytes']}).",
                param="part_ids",
            )
        md5 = body.get("md5")
        if md5 and hashlib.md5(content).hexdigest() != md5:
            raise APIError(400, "The md5 checksum does not match the uploaded bytes.", param="md5")
        upload["file"] = self.add_file(content, upload["filename"], upload["purpose"])
        upload["status"] = "completed"
        return upload

    def _uploads_cancel(self, call: Call, upload_id: str) -> dict[str, Any]:
        upload = self._upload(upload_id)
        upload["status"] = "cancelled"
        return upload

    # -- fine-tuning ---------------------------------------------------------------------
    def _get_job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise APIError(404, f"Fine-tuning job {job_id} not found.", param="fine_tuning_job_id")
        return job

    def _check_file(self, file_id: Any, param: str) -> None:
        stored = self.files.get(str(file_id))
        if stored is None or stored.obj["purpose"] != "fine-tune":
            raise APIError(400, f"invalid {param}: {file_id}", param=param, code=f"invalid_{param}")

    def _jobs_create(self, call: Call) -> dict[str, Any]:
        if self.training_not_available:
            raise APIError(403, TRAINING_NOT_AVAILABLE, code="training_not_available")
        body = call.json or {}
        for key in ("model", "training_file"):
            if not body.get(key):
                msg = f"Missing required parameter: '{key}'."
                raise APIError(400, msg, param=key, code="missing_required_parameter")
        model = str(body["model"])
        tunable = model in self.fine_tunable_models or (
            model.startswith("ft:") and self.model_exists(model)
        )
        if not tunable:
            msg = f"Model {model} is not available for fine-tuning or does not exist."
            raise APIError(400, msg, param="model", code="model_not_available")
        self._check_file(body["training_file"], "training_file")
        if body.get("validation_file"):
            self._check_file(body["validation_file"], "validation_file")
        suffix = body.get("suffix")
        if suffix is not None and not 1 <= len(str(suffix)) <= 64:
            raise APIError(400, "Invalid 'suffix': must be 1 to 64 characters.", param="suffix")
        if self.azure and "metadata" in body:  # Azure's create body has no metadata
            raise APIError(400, "Unrecognized request argument supplied: metadata")
        if self.azure and suffix is not None and len(str(suffix)) > 40:
            raise APIError(400, "Invalid 'suffix': at most 40 characters.", param="suffix")
        metadata = body.get("metadata") or {}
        if len(metadata) > 16 or any(
            len(str(k)) > 64 or not isinstance(v, str) or len(v) > 512 for k, v in metadata.items()
        ):
            raise APIError(400, "Invalid 'metadata'.", param="metadata", code="invalid_metadata")
        method = body.get("method") or {}
        if method and method.get("type") not in ("supervised", "dpo", "reinforcement"):
            raise APIError(400, "Invalid 'method.type'.", param="method.type")
        kind = method.get("type", "supervised")
        hp = (method.get(kind) or {}).get("hyperparameters") or body.get("hyperparameters") or {}
        limits = {"n_epochs": (1, 50), "batch_size": (1, 256)}
        for key, (low, high) in limits.items():
            value = hp.get(key, "auto")
            if value != "auto" and not (isinstance(value, int) and low <= value <= high):
                raise APIError(400, f"Invalid '{key}': {value!r}.", param=f"hyperparameters.{key}")
        lr = hp.get("learning_rate_multiplier", "auto")
        if lr != "auto" and not (isinstance(lr, (int, float)) and lr > 0):
            raise APIError(
                400,
                f"Invalid 'learning_rate_multiplier': {lr!r}.",
                param="hyperparameters.learning_rate_multiplier",
            )
        return self.new_job(body)

    def _jobs_list(self, call: Call) -> dict[str, Any]:
        wanted = {
            k[len("metadata[") : -1]: v
            for k, v in call.query.items()
            if k.startswith("metadata[") and k.endswith("]")
        }
        jobs = [
            j
            for j in self.jobs_newest_first()
            if all((j.get("metadata") or {}).get(k) == v for k, v in wanted.items())
        ]
        page = _page(jobs, call.query, 20)
        return {"object": "list", "data": page["data"], "has_more": page["has_more"]}

    def _jobs_retrieve(self, call: Call, job_id: str) -> dict[str, Any]:
        return self._get_job(job_id)

    def _jobs_action(self, call: Call, job_id: str, action: str) -> dict[str, Any]:
        job = self._get_job(job_id)
        status = job["status"]
        if action == "cancel":
            if status in TERMINAL:
                raise APIError(400, f"Job {job_id} has already {status}; it cannot be cancelled.")
            self.set_status(job_id, "cancelled")
        elif action == "pause":
            if status in TERMINAL or status == "paused":
                raise APIError(400, f"Job {job_id} is {status}; it cannot be paused.")
            self.set_status(job_id, "paused")
        else:
            if status != "paused":
                raise APIError(400, f"Job {job_id} is {status}; only paused jobs can be resumed.")
            self.set_status(job_id, "queued")
        return job

    def _jobs_events(self, call: Call, job_id: str) -> dict[str, Any]:
        self._get_job(job_id)
        page = _page(list(reversed(self.events[job_id])), call.query, 20)
        return {"object": "list", "data": page["data"], "has_more": page["has_more"]}

    def _jobs_checkpoints(self, call: Call, job_id: str) -> dict[str, Any]:
        self._get_job(job_id)
        return _page(list(reversed(self.checkpoints[job_id])), call.query, 10)

    # -- models & chat -------------------------------------------------------------------
    def _models_list(self, call: Call) -> dict[str, Any]:
        live = [m for k, m in self.models.items() if k not in self.deleted_models]
        return {"object": "list", "data": live}

    def _model(self, model_id: str) -> dict[str, Any]:
        if model_id not in self.models or model_id in self.deleted_models:
            raise APIError(
                404,
                f"The model `{model_id}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return self.models[model_id]

    def _models_retrieve(self, call: Call, model_id: str) -> dict[str, Any]:
        return self._model(model_id)

    def _models_delete(self, call: Call, model_id: str) -> dict[str, Any]:
        model = self._model(model_id)
        if model["owned_by"] == "system":
            raise APIError(
                403, "You have insufficient permissions to delete this model.", param="model"
            )
        self.deleted_models.add(model_id)
        return {"id": model_id, "object": "model", "deleted": True}

    def _chat(self, call: Call) -> dict[str, Any]:
        body = call.json or {}
        model = str(body.get("model") or "")
        if not self.model_exists(model):
            self._model(model)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise APIError(400, "Missing required parameter: 'messages'.", param="messages")
        if body.get("stream"):
            raise APIError(400, "The fake does not implement streaming.", param="stream")
        reply = self.chat_responder(body)
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        message["annotations"] = []
        if isinstance(reply, str):
            message["content"] = reply
        else:
            message.update(reply)
        finish = "stop"
        for i, tool_call in enumerate(message.get("tool_calls") or []):
            finish = "tool_calls"
            tool_call.setdefault("id", f"call_{i}_{secrets.token_hex(8)}")
            tool_call.setdefault("type", "function")
            args = tool_call.get("function", {}).get("arguments")
            if not isinstance(args, str) and "function" in tool_call:
                tool_call["function"]["arguments"] = json.dumps(args or {})
        prompt = sum(4 + len(str(m.get("content") or "").split()) for m in messages)
        completion = max(1, len(str(message.get("content") or "").split()))
        return {
            "id": new_id("chatcmpl-", 29),
            "object": "chat.completion",
            "created": now(),
            "model": model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
