"""A fake Together AI API on 127.0.0.1 for the real ``together.Together`` client (SDK v3).

Usage::

    with FakeTogether() as fake:
        client = together.Together(base_url=fake.base_url, api_key="test")
        file = client.files.upload(path, purpose="fine-tune", check=False)  # 302 + PUT + preprocess
        job = client.fine_tuning.create(model=MODEL, training_file=file.id, lora=True)
        fake.advance(job.id, status="running", total_steps=10)
        fake.advance(job.id, step=5, train_loss=0.9, valid_loss=1.1, checkpoint=True)
        fake.complete(job.id)

State and simulation controls are in :mod:`tests.fakes.together_state`, endpoints in
:mod:`tests.fakes.together_routes`.
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
from tests.fakes.openai_routes import Call
from tests.fakes.together_routes import DEFAULT_ERRORS, TogetherAPIError, TogetherRoutes
from tests.fakes.together_state import StoredFile

__all__ = ["Call", "FakeTogether", "StoredFile", "TogetherFault"]

_PRESIGNED = re.compile(r"/presigned/([^/]+)")


@dataclass
class TogetherFault:
    """A scheduled failure for requests matching ``method`` and ``path_prefix``."""

    method: str
    path_prefix: str
    status: int | None
    times: int
    retry_after: float | str | None
    should_retry: bool | None
    drop: bool
    slow_ms: int | None
    apply_then_fail: bool
    body: Any
    exact: bool = False

    def matches(self, request: Request) -> bool:
        """Same method (or ``*``) and the path under ``path_prefix`` (or equal, if ``exact``)."""
        if self.method not in ("*", request.method):
            return False
        if self.exact:
            return request.path == self.path_prefix
        return request.path.startswith(self.path_prefix)

    @property
    def answers_error(self) -> bool:
        """False for a pure delay (``slow_ms`` only): the real answer follows the delay."""
        return not (self.slow_ms and self.status is None and self.body is None)


class FakeTogether(TogetherRoutes, FakeServer):
    """Fake Together AI: files (presigned upload, preprocessing), fine-tunes, metrics, chat.

    Any ``Authorization: Bearer <key>`` is accepted (recorded); a missing one gets 401.
    Set ``valid_keys`` to a set to reject other keys with 401 ``invalid_api_key``.
    """

    def __init__(self, host: str | None = None) -> None:
        TogetherRoutes.__init__(self)
        FakeServer.__init__(self, host)
        self.calls: list[Call] = []
        self.valid_keys: set[str] | None = None
        self._after: list[tuple[str, str, Callable[[], None]]] = []
        self._faults: list[TogetherFault] = []
        # Every chat completion takes this long (outside the fake's lock, so concurrent calls
        # overlap as on the real service): the evaluation benchmark's fixed per-call latency.
        self.chat_latency_ms = 0
        self._routes = self.routes()

    @property
    def base_url(self) -> str:
        """What ``Together(base_url=...)`` gets: ``http://127.0.0.1:PORT`` (paths carry /v1)."""
        return self.origin

    # -- recording & faults --------------------------------------------------------------
    def calls_to(self, method: str, path: str) -> list[Call]:
        """Recorded requests with this HTTP method and exact path (no query)."""
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path == path]

    def chat_models_called(self) -> list[str]:
        """The ``model`` of every chat completion request, in order."""
        with self.lock:
            calls = [c for c in self.calls if c.path == "/v1/chat/completions"]
            return [str((c.json or {}).get("model")) for c in calls]

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
        retry_after: float | str | None = None,
        should_retry: bool | None = None,
        drop: bool = False,
        slow_ms: int | None = None,
        apply_then_fail: bool = False,
        body: Any = None,
        exact: bool = False,
    ) -> TogetherFault:
        """Make the next ``times`` matching requests fail (``method`` may be ``"*"``).

        - default: HTTP 500 in Together's error shape; ``status``/``body`` override it
          (``body`` a dict is sent as JSON, str/bytes raw, e.g. a 502 HTML page);
        - ``retry_after`` / ``should_retry`` set ``retry-after`` and ``x-should-retry``;
        - ``drop``: close the socket without answering;
        - ``slow_ms``: sleep first; alone, the real answer follows (for client timeouts);
        - ``apply_then_fail``: perform the request (create the job…) then fail/drop/stall;
        - ``exact``: match the path exactly (``/v1/fine-tunes`` but not ``…/estimate-price``).
        """
        fault = TogetherFault(
            method.upper(),
            path_prefix,
            status,
            times,
            retry_after,
            should_retry,
            drop,
            slow_ms,
            apply_then_fail,
            body,
            exact,
        )
        with self.lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, request: Request) -> TogetherFault | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_response(fault: TogetherFault) -> Response:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        if fault.should_retry is not None:
            headers["x-should-retry"] = "true" if fault.should_retry else "false"
        status = fault.status or 500
        if fault.body is not None:
            if isinstance(fault.body, dict | list):
                return Response.json(fault.body, status, headers)
            raw = fault.body.encode() if isinstance(fault.body, str) else bytes(fault.body)
            return Response(status, raw, {"Content-Type": "text/html", **headers})
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        message = DEFAULT_ERRORS.get(status, f"HTTP {status}")
        error = TogetherAPIError(status, message, type=kind, code=kind if status == 429 else None)
        return Response.json(error.body, status, headers)

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
        response.headers.setdefault("x-request-id", secrets.token_hex(16))
        return response

    def _respond(self, request: Request, call: Call) -> Response:
        presigned = _PRESIGNED.fullmatch(request.path)
        if presigned and request.method == "PUT":
            return self.presigned_put(call, request.body, presigned.group(1))
        auth = request.header("Authorization") or ""
        key = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        try:
            if not key or (self.valid_keys is not None and key not in self.valid_keys):
                raise TogetherAPIError(
                    401,
                    "Invalid API key provided. You can find your API key at "
                    "https://api.together.ai/settings/api-keys.",
                    code="invalid_api_key",
                )
            methods_seen = False
            for verb, pattern, handler in self._routes:
                match = pattern.fullmatch(request.path)
                if not match:
                    continue
                methods_seen = True
                if verb == request.method:
                    with self.lock:
                        result = handler(call, *match.groups())
                    return result if isinstance(result, Response) else Response.json(result)
            status = 405 if methods_seen else 404
            raise TogetherAPIError(status, f"Invalid URL ({request.method} {request.path})")
        except TogetherAPIError as err:
            return Response.json(err.body, err.status)
