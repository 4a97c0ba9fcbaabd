"""What the fake OpenAI and the fake Together share: every request recorded as a ``Call``, chat
completions slowed on demand, and scheduled faults (an error, a delay, a dropped connection, the
request applied and then failed) taken before the real answer.

A fake names its fault type and supplies three hooks: ``_respond`` (the real answer),
``_fault_response`` (the error a fault answers with, in the provider's shape) and ``_stamp``
(the headers every answer carries).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from tests.fakes._http import DROP, FakeServer, Request, Response, parse_multipart
from tests.fakes.openai_routes import Call


class Fault(Protocol):
    """A scheduled failure, as the recording server applies it."""

    times: int
    drop: bool
    slow_ms: int | None
    apply_then_fail: bool

    def matches(self, request: Request) -> bool: ...

    @property
    def answers_error(self) -> bool: ...


F = TypeVar("F", bound=Fault)


class RecordingServer(FakeServer, Generic[F]):
    """A fake API server that records calls and injects the faults scheduled with ``_schedule``."""

    def __init__(self, host: str | None = None) -> None:
        FakeServer.__init__(self, host)
        self.calls: list[Call] = []
        self.valid_keys: set[str] | None = None
        self._faults: list[F] = []
        self._after: list[tuple[str, str, Callable[[], None]]] = []
        # Every chat completion takes this long (outside the fake's lock, so concurrent calls
        # overlap as on the real service): the evaluation benchmark's fixed per-call latency.
        self.chat_latency_ms = 0

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

    def _schedule(self, fault: F) -> F:
        with self.lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, request: Request) -> F | None:
        with self.lock:
            for fault in self._faults:
                if fault.matches(request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            return self._unscheduled_fault()

    def _unscheduled_fault(self) -> F | None:
        """A fault no one scheduled (the fake OpenAI's chaos mode); called under the lock."""
        return None

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
        self._stamp(response)
        return response

    def _respond(self, request: Request, call: Call) -> Response:
        raise NotImplementedError

    def _fault_response(self, fault: F) -> Response:
        raise NotImplementedError

    def _stamp(self, response: Response) -> None:
        """Headers every answer carries."""
