"""A fake OpenAI API on 127.0.0.1 for the real ``openai.OpenAI`` client.

Usage::

    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="test")
        f = client.files.create(file=("t.jsonl", data, "application/jsonl"), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=f.id)
        fake.advance_job(job.id, status="running", step=1, total_steps=10, train_loss=0.9)
        fake.succeed(job.id, trained_tokens=1234)

State and simulation controls are in :mod:`tests.fakes.openai_state`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes._http import DROP, FakeServer, Request, Response, parse_multipart
from tests.fakes.openai_routes import (
    AZURE_NO_KEY_MESSAGE,
    AZURE_NO_VERSION_MESSAGE,
    DEFAULT_ERRORS,
    NO_KEY_MESSAGE,
    APIError,
    Call,
    OpenAIRoutes,
)
from tests.fakes.openai_state import StoredFile

__all__ = ["Call", "FakeOpenAI", "OpenAIFault", "StoredFile"]


@dataclass
class OpenAIFault:
    """A scheduled failure for requests matching ``method`` and ``path_prefix``."""

    method: str
    path_prefix: str
    status: int | None
    times: int
    retry_after_ms: int | None
    retry_after: float | str | None
    should_retry: bool | None
    drop: bool
    slow_ms: int | None
    apply_then_fail: bool
    body: Any
    malformed: bool

    @property
    def answers_error(self) -> bool:
        """False for a pure delay (``slow_ms`` only): the real answer follows the delay."""
        return not (
            self.slow_ms and self.status is None and self.body is None and not self.malformed
        )


# Azure: chat completions go to /openai/deployments/<deployment>/chat/completions (a deployment
# is registered in the fake like a model: add_model(<deployment name>)).
DEPLOYMENT_CHAT = re.compile(r"/v1/deployments/([^/]+)/chat/completions")


class FakeOpenAI(OpenAIRoutes, FakeServer):
    """Fake OpenAI: files, uploads, fine-tuning jobs/events/checkpoints, models, chat.

    Any ``Authorization: Bearer <key>`` is accepted (recorded); a missing one gets 401.
    Set ``valid_keys`` to a set to reject other keys with ``invalid_api_key``.
    """

    def __init__(self, host: str | None = None, *, azure: bool = False) -> None:
        OpenAIRoutes.__init__(self)
        self.azure = azure
        FakeServer.__init__(self, host)
        self.calls: list[Call] = []
        self.valid_keys: set[str] | None = None
        self._after: list[tuple[str, str, Callable[[], None]]] = []
        self._faults: list[OpenAIFault] = []
        # Every chat completion takes this long (outside the fake's lock, so concurrent calls
        # overlap as on the real service): the evaluation benchmark's fixed per-call latency.
        self.chat_latency_ms = 0
        self._routes = self.routes()

    @property
    def azure_endpoint(self) -> str:
        """What ``AzureOpenAI(azure_endpoint=...)`` gets (Azure mode): ``http://127.0.0.1:PORT``."""
        return self.origin

    @property
    def base_url(self) -> str:
        """What ``OpenAI(base_url=...)`` gets: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.origin}/v1"

    # -- recording & faults --------------------------------------------------------------
    def calls_to(self, method: str, path: str) -> list[Call]:
        """Recorded requests with this HTTP method and exact path (no query)."""
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path == path]

    def after_answer(self, method: str, path: str, hook: Callable[[], None]) -> None:
        """Run ``hook`` once, after the next ``method`` request to exactly ``path`` is answered
        and before the client reads the answer: a change landing between two of the bot's
        calls (a job failing right after it was read, before its events are listed)."""
        with self.lock:
            self._after.append((method.upper(), path, hook))

    def _take_after(self, request: Request) -> Callable[[], None] | None:
        with self.lock:
            for entry in self._after:
                if entry[0] == request.method and entry[1] == request.path:
                    self._after.remove(entry)
                    return entry[2]
        return None

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after_ms: int | None = None,
        retry_after: float | str | None = None,
        should_retry: bool | None = None,
        drop: bool = False,
        slow_ms: int | None = None,
        apply_then_fail: bool = False,
        body: Any = None,
        malformed: bool = False,
    ) -> OpenAIFault:
        """Make the next ``times`` matching requests fail (``method`` may be ``"*"``).

        - default: HTTP 500 in OpenAI's error shape; ``status``/``body`` override it
          (``body`` a dict is sent as JSON, str/bytes raw, e.g. a 502 HTML page);
        - ``retry_after_ms`` / ``retry_after`` / ``should_retry`` set ``retry-after-ms``,
          ``retry-after`` and ``x-should-retry`` (keep retries fast with ``retry_after_ms=1``);
        - ``drop``: close the socket without answering;
        - ``slow_ms``: sleep first; alone, the real answer follows (for client timeouts);
        - ``apply_then_fail``: perform the request (create the job...) then fail/drop/stall;
        - ``malformed``: answer 200 with a truncated JSON body.
        """
        fault = OpenAIFault(
            method.upper(),
            path_prefix,
            status,
            times,
            retry_after_ms,
            retry_after,
            should_retry,
            drop,
            slow_ms,
            apply_then_fail,
            body,
            malformed,
        )
        with self.lock:
            self._faults.append(fault)
        return fault

    def chaos(self, rate_429: float, rate_500: float, *, seed: int = 1) -> None:
        """Fail a random share of requests with 429 (retry-after-ms 20) or a bare 500."""
        import random

        with self.lock:
            self._chaos = (rate_429, rate_500, random.Random(seed))

    def _take_fault(self, request: Request) -> OpenAIFault | None:
        with self.lock:
            for fault in self._faults:
                if fault.method in ("*", request.method) and request.path.startswith(
                    fault.path_prefix
                ):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            chaos = getattr(self, "_chaos", None)
            if chaos and (chaos[0] or chaos[1]):
                roll = chaos[2].random()
                if roll < chaos[0]:
                    return OpenAIFault(
                        "*", "", 429, 1, 20, None, None, False, None, False, None, False
                    )
                if roll < chaos[0] + chaos[1]:
                    return OpenAIFault(
                        "*", "", 500, 1, None, None, None, False, None, False, None, False
                    )
        return None

    @staticmethod
    def _fault_response(fault: OpenAIFault) -> Response:
        headers: dict[str, str] = {}
        if fault.retry_after_ms is not None:
            headers["retry-after-ms"] = str(fault.retry_after_ms)
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        if fault.should_retry is not None:
            headers["x-should-retry"] = "true" if fault.should_retry else "false"
        if fault.malformed:
            body = b'{"object": "fine_tuning.job", "id": "ftjob-'
            return Response(fault.status or 200, body, {"Content-Type": "application/json"})
        status = fault.status or 500
        if fault.body is not None:
            if isinstance(fault.body, (dict, list)):
                return Response.json(fault.body, status, headers)
            raw = fault.body.encode() if isinstance(fault.body, str) else bytes(fault.body)
            return Response(status, raw, {"Content-Type": "text/html", **headers})
        message, kind, code = DEFAULT_ERRORS.get(status, (f"HTTP {status}", "server_error", None))
        return Response.json(APIError(status, message, code=code, type=kind).body, status, headers)

    # -- HTTP ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Record, inject faults, authenticate and route one request."""
        call = Call(
            request.method,
            request.path,
            dict(request.query),
            None,
            None,
            None,
            dict(request.headers),
            time.time(),
        )
        if request.content_type == "application/json" and request.body:
            try:
                call.json = json.loads(request.body)
            except ValueError:
                call.json = None
        elif request.content_type == "multipart/form-data":
            call.form, call.files = parse_multipart(
                request.body, request.header("Content-Type") or ""
            )
        with self.lock:
            self.calls.append(call)
        if self.chat_latency_ms and request.path.endswith("/chat/completions"):
            time.sleep(self.chat_latency_ms / 1000)
        fault = self._take_fault(request)
        if fault is not None:
            call.fault = "apply_then_fail" if fault.apply_then_fail else "fault"
            real = self._respond(request, call) if fault.apply_then_fail else None
            if fault.slow_ms:
                time.sleep(fault.slow_ms / 1000)
            if fault.drop:
                return DROP
            if fault.answers_error:
                response = self._fault_response(fault)
            else:
                response = real or self._respond(request, call)
        else:
            response = self._respond(request, call)
        call.status = response.status
        hook = self._take_after(request)
        if hook is not None:
            hook()
        response.headers.setdefault("x-request-id", f"req_{secrets.token_hex(16)}")
        response.headers.setdefault("openai-organization", "org-test")
        response.headers.setdefault("openai-version", "2020-10-01")
        response.headers.setdefault("openai-processing-ms", "7")
        return response

    def _respond(self, request: Request, call: Call) -> Response:
        path = request.path
        try:
            if self.azure:
                # Azure OpenAI: `{endpoint}/openai/...?api-version=…` with an `api-key` header.
                key = (request.header("api-key") or "").strip()
                if not key:
                    raise APIError(401, AZURE_NO_KEY_MESSAGE, code="401")
                if not request.query.get("api-version"):
                    raise APIError(404, AZURE_NO_VERSION_MESSAGE, code="404")
                if not path.startswith("/openai/"):
                    raise APIError(404, "Resource not found", code="404")
                path = "/v1/" + path[len("/openai/") :]
                routed = DEPLOYMENT_CHAT.fullmatch(path)
                if routed:  # inference answers only through a deployment of the model
                    if not self.model_exists(routed.group(1)):
                        raise APIError(
                            404,
                            "The API deployment for this resource does not exist.",
                            code="DeploymentNotFound",
                        )
                    path = "/v1/chat/completions"
            else:
                auth = request.header("Authorization") or ""
                key = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
                if not key:
                    raise APIError(401, NO_KEY_MESSAGE)
            if self.valid_keys is not None and key not in self.valid_keys:
                raise APIError(
                    401, f"Incorrect API key provided: {key[:3]}***.", code="invalid_api_key"
                )
            methods_seen = False
            for verb, pattern, handler in self._routes:
                match = pattern.fullmatch(path)
                if not match:
                    continue
                methods_seen = True
                if verb == request.method:
                    with self.lock:
                        result = handler(call, *match.groups())
                    return result if isinstance(result, Response) else Response.json(result)
            raise APIError(
                404 if not methods_seen else 405, f"Invalid URL ({request.method} {path})"
            )
        except APIError as err:
            return Response.json(err.body, err.status)
