"""A fake Slack (Web API + file host + upload host) on 127.0.0.1 for the real ``WebClient``.

Usage::

    with FakeSlack() as slack:
        client = WebClient(base_url=slack.base_url, token=slack.bot_token)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")[0].params["text"] == "hi"

Method implementations live in :mod:`tests.fakes.slack_methods`; Block Kit checks in
:mod:`tests.fakes.slack_blocks`.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes._http import DROP, FakeServer, Request, Response, parse_multipart
from tests.fakes.slack_listings import SlackListings
from tests.fakes.slack_methods import SlackMethods
from tests.fakes.slack_state import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    JSON_FIELDS,
    TEAM_ID,
    Call,
    HttpRecord,
    SlackError,
    UploadedFile,
)

__all__ = ["Call", "FakeSlack", "HttpRecord", "SlackFault", "UploadedFile"]

_DOWNLOAD_RE = re.compile(r"^/files-pri/T1-(F[A-Z0-9]+)/(?:download/)?[^/]+$")


@dataclass
class SlackFault:
    """A scheduled failure for the next ``times`` calls of ``method``."""

    method: str
    status: int | None
    retry_after: int
    error: str | None
    times: int
    drop: bool
    apply_then_fail: bool


class _Bucket:
    """Token bucket: ``rate`` tokens per second, at most ``burst`` stored."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, max(burst, 1.0)
        self.tokens, self.last = self.burst, time.monotonic()

    def take(self) -> float:
        """Take one token; returns 0 on success, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class FakeSlack(SlackMethods, SlackListings, FakeServer):
    """Fake Slack workspace ``T1`` with bot user ``UBOT`` (bot ``BBOT``, app ``A1``).

    Pre-registered users: ``U1`` (regular member) and ``UBOT`` (the bot). Channels are created
    on first use; ``U…`` channel ids map to the bot's DM ``D…`` as Slack does.
    """

    bot_token = "xoxb-test-token"
    team_id = TEAM_ID
    bot_user_id = BOT_USER_ID
    bot_id = BOT_ID
    app_id = APP_ID

    def __init__(self, *, strict_triggers: bool = False, host: str | None = None) -> None:
        FakeServer.__init__(self, host)
        SlackMethods.__init__(self)
        self.strict_triggers = strict_triggers
        self.valid_tokens = {self.bot_token}
        self.calls: list[Call] = []
        self.downloads: list[HttpRecord] = []
        self.raw_uploads: list[HttpRecord] = []
        self.download_chunk_size = 64 * 1024
        self.rate_limit_post_per_second: float | None = None
        self.rate_limit_post_burst = 1
        self.rate_limit_update_per_minute: float | None = None
        self._faults: list[SlackFault] = []
        self._buckets: dict[str, _Bucket] = {}

    # -- public attributes ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` gets: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.origin}/api/"

    # -- recording -----------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one Web API method, in arrival order."""
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def answered(self, method: str) -> list[Call]:
        """Calls of one method the fake has answered (a call is recorded on arrival, its
        response a moment later: read `response` only from these)."""
        with self.lock:
            return [c for c in self.calls if c.method == method and c.response is not None]

    # -- fault injection -----------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
        drop: bool = False,
        apply_then_fail: bool = False,
    ) -> SlackFault:
        """Make the next ``times`` calls of ``method`` fail.

        - default: HTTP 429, integer ``Retry-After: retry_after``, ``{"ok":false,"error":"ratelimited"}``;
        - ``error="..."``: ``{"ok": false, "error": error}`` with HTTP ``status`` or 200;
        - ``status=500`` etc.: that status with ``{"ok": false, "error": "fatal_error"}``;
        - ``drop=True``: close the socket without answering (nothing applied);
        - ``apply_then_fail=True``: perform the call (e.g. store the message), then drop the
          connection (or answer the given ``status``/``error`` instead of the real result).

        ``method`` may also be ``"upload"`` for the raw upload POST of ``files_upload_v2``.
        """
        fault = SlackFault(method, status, int(retry_after), error, times, drop, apply_then_fail)
        with self.lock:
            self._faults.append(fault)
        return fault

    def chaos(self, rate: float, *, methods: tuple[str, ...] | None = None, seed: int = 1) -> None:
        """Answer a random share `rate` of Web API calls with 429 + `Retry-After: 1` (0 stops)."""
        import random

        with self.lock:
            self._chaos_rate = rate
            self._chaos_methods = methods
            self._chaos_rng = random.Random(seed)

    def _take_fault(self, method: str) -> SlackFault | None:
        with self.lock:
            for fault in self._faults:
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
            rate = getattr(self, "_chaos_rate", 0.0)
            methods = getattr(self, "_chaos_methods", None)
            wanted = rate and method != "upload" and (methods is None or method in methods)
            if wanted and self._chaos_rng.random() < rate:
                return SlackFault(method, 429, 1, None, 1, False, False)
        return None

    @staticmethod
    def _fault_response(fault: SlackFault) -> tuple[int, dict[str, Any], dict[str, str]]:
        if fault.error is not None:
            return fault.status or 200, {"ok": False, "error": fault.error}, {}
        status = fault.status or 429
        if status == 429:
            body = {"ok": False, "error": "ratelimited"}
            return status, body, {"Retry-After": str(fault.retry_after)}
        return status, {"ok": False, "error": "fatal_error"}, {}

    def _rate_limited(self, method: str, params: dict[str, Any]) -> int | None:
        bucket_key, rate, burst = None, None, 1.0
        if method == "chat.postMessage" and self.rate_limit_post_per_second:
            bucket_key = f"post:{params.get('channel')}"
            rate, burst = self.rate_limit_post_per_second, float(self.rate_limit_post_burst)
        elif method == "chat.update" and self.rate_limit_update_per_minute:
            bucket_key = "update"
            rate = self.rate_limit_update_per_minute / 60.0
            burst = self.rate_limit_update_per_minute
        if bucket_key is None or rate is None:
            return None
        bucket = self._buckets.setdefault(bucket_key, _Bucket(rate, burst))
        wait = bucket.take()
        return max(1, math.ceil(wait)) if wait > 0 else None

    # -- HTTP ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Route ``/api/<method>``, ``/files-pri/...`` and ``/upload/v1/...``."""
        if request.path.startswith("/api/"):
            return self._api(request)
        if request.path.startswith("/files-pri/"):
            return self._download(request)
        if request.path.startswith("/upload/v1/") and request.method == "POST":
            return self._raw_upload(request)
        return Response(404, b"Not Found", {"Content-Type": "text/plain"})

    @staticmethod
    def _parse(request: Request) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        try:
            if ctype == "application/json":
                body = json.loads(request.body or b"{}")
                if not isinstance(body, dict):
                    return params, "invalid_json"
                params.update(body)
            elif ctype.startswith("multipart/"):
                form, _files = parse_multipart(request.body, request.header("Content-Type") or "")
                params.update(form)
            elif request.body:
                params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            return params, "invalid_json" if ctype == "application/json" else "invalid_form_data"
        params = {k: v for k, v in params.items() if v is not None}
        for key in JSON_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, None

    def _api(self, request: Request) -> Response:
        method = request.path[len("/api/") :]
        params, parse_error = self._parse(request)
        token = params.pop("token", None)
        call = Call(method, params, dict(request.headers), time.time())
        with self.lock:
            self.calls.append(call)
        fault = self._take_fault(method)
        if fault is not None and not fault.apply_then_fail:
            call.fault = "drop" if fault.drop else "error"
            if fault.drop:
                return DROP
            status, body, headers = self._fault_response(fault)
        else:
            status, body, headers = self._run(method, params, request, token, parse_error)
            if fault is not None:
                call.fault = "apply_then_fail"
                if fault.status is None and fault.error is None:
                    call.status, call.response = 0, body
                    return DROP
                status, body, headers = self._fault_response(fault)
        call.status, call.response = status, json.loads(json.dumps(body))
        headers = {"x-slack-req-id": secrets.token_hex(16), **headers}
        return Response.json(body, status, headers)

    def _run(
        self,
        method: str,
        params: dict[str, Any],
        request: Request,
        token: Any,
        parse_error: str | None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        auth = request.header("Authorization") or ""
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else token
        with self.lock:
            if parse_error:
                return 200, {"ok": False, "error": parse_error}, {}
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, {}
            if token not in self.valid_tokens:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            wait = self._rate_limited(method, params)
            if wait is not None:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
            impl = getattr(self, "api_" + method.replace(".", "_"), None)
            if impl is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            try:
                return 200, {"ok": True, **impl(params)}, {}
            except SlackError as err:
                return 200, {"ok": False, "error": err.code, **err.extra}, {}

    def _download(self, request: Request) -> Response:
        record = HttpRecord(request.method, request.path, dict(request.headers), time.time())
        with self.lock:
            self.downloads.append(record)
            match = _DOWNLOAD_RE.match(request.path)
            file_id = match.group(1) if match else ""
            content = self._file_content.get(file_id)
            file = self._files.get(file_id)
            redirect = self._redirects.get(file_id)
        auth = request.header("Authorization") or ""
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if content is None or file is None:
            record.status = 404
            return Response(404, b"Not Found", {"Content-Type": "text/plain"})
        if token not in self.valid_tokens:
            record.status = 403
            return Response(403, b"Forbidden", {"Content-Type": "text/plain"})
        if redirect:
            record.status = 302
            return Response(302, b"", {"Location": redirect})
        record.status, record.size = 200, len(content)
        headers = {
            "Content-Type": file["mimetype"],
            "Content-Disposition": f'attachment; filename="{file["name"]}"',
        }
        return Response(200, content, headers, chunk_size=self.download_chunk_size)

    def _raw_upload(self, request: Request) -> Response:
        record = HttpRecord(request.method, request.path, dict(request.headers), time.time())
        record.size = len(request.body)
        with self.lock:
            self.raw_uploads.append(record)
        fault = self._take_fault("upload")
        if fault is not None:
            if fault.drop:
                return DROP
            record.status = fault.status or 500
            return Response(record.status, b"error", {"Content-Type": "text/plain"})
        token = request.path.rsplit("/", 1)[-1]
        with self.lock:
            upload = next((u for u in self._pending_uploads.values() if u["token"] == token), None)
            if upload is None:
                record.status = 404
                return Response(404, b"Not Found", {"Content-Type": "text/plain"})
            upload["content"] = request.body
        record.status = 200
        return Response(200, f"OK - {len(request.body)}".encode(), {"Content-Type": "text/plain"})
