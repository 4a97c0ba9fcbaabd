"""Serving: HTTP (/slack/events, /healthz) on waitress, or Socket Mode when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier

from bot.app import Runtime
from handlers.payloads import MalformedBody, parse_body
from storage.db import ping

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Slack payloads are small; refuse anything bigger before parsing
_TIMESTAMP = re.compile(r"\d{1,20}")
StartResponse = Callable[..., Any]


class SlackWsgiApp:
    """A WSGI app in front of Bolt: caps and verifies requests over the raw bytes, then dispatches.

    Bolt parses the body before verifying it, so malformed unsigned input could raise inside Bolt
    (a 500 with a traceback); here such requests get a plain 4xx and never reach it.
    """

    def __init__(self, *, app: App, services: Runtime, signing_secret: str) -> None:
        self._app = app
        self._services = services
        self._verifier = SignatureVerifier(signing_secret)
        self._secret = signing_secret.encode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path == "/healthz" and method in ("GET", "HEAD"):
            healthy = ping(self._services.engine)
            return _reply(start_response, 200 if healthy else 503, {"ok": healthy})
        if path != "/slack/events":
            return _reply(start_response, 404, {"error": "not_found"})
        if method != "POST":
            return _reply(start_response, 405, {"error": "method_not_allowed"})
        return self._slack(environ, start_response)

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            return _reply(start_response, 413, {"error": "too_large"})
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = environ["CONTENT_TYPE"]
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not self._signed(raw, timestamp, signature):
            return _reply(start_response, 401, {"error": "invalid_request"})
        try:
            body = raw.decode("utf-8")
            parsed = parse_body(body, headers.get("content-type"))
        except UnicodeDecodeError:
            return _reply(start_response, 400, {"error": "bad_encoding"})
        except MalformedBody as error:
            log.info("refused a signed but malformed body (%s)", error)
            return _reply(start_response, 400, {"error": "bad_body", "reason": str(error)})
        try:
            request = BoltRequest(body=body, query=environ.get("QUERY_STRING"), headers=headers)
        except Exception:  # the shapes Bolt reads were checked above; this is a body it chokes on
            log.warning("Bolt could not read a signed body", exc_info=True)
            return _reply(start_response, 400, {"error": "bad_body"})
        if request.body != parsed:
            # Bolt reads any form mentioning "payload" as an interaction and so drops a slash
            # command such as `/finetune try explain this payload`: give it the body as sent.
            request.body = parsed
            request.context = build_context(BoltContext({}), parsed)
        response = self._app.dispatch(request)
        out_headers = [
            (name, value) for name, values in response.headers.items() for value in values
        ]
        start_response(f"{response.status} {_reason(response.status)}", out_headers)
        return [response.body.encode("utf-8") if isinstance(response.body, str) else response.body]

    def _signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature over the raw bytes, from the last five minutes."""
        if not _TIMESTAMP.fullmatch(timestamp):
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # slack_sdk decodes before hashing; hash these bytes here
            if abs(time.time() - int(timestamp)) > 300:
                return False
            base = b"v0:" + timestamp.encode() + b":" + raw
            digest = hmac.new(self._secret, base, hashlib.sha256).hexdigest()
            return hmac.compare_digest(f"v0={digest}", signature)
        return self._verifier.is_valid(body=text, timestamp=timestamp, signature=signature)


def _reason(status: int) -> str:
    return {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Content Too Large",
        503: "Service Unavailable",
    }.get(status, "Status")


def _reply(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        f"{status} {_reason(status)}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class HttpServer:
    """The production HTTP server (waitress), startable on port 0 for tests."""

    def __init__(self, wsgi: SlackWsgiApp, *, host: str, port: int, threads: int = 32) -> None:
        from waitress.server import create_server

        self._server = create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            ident="finetune-bot",
            clear_untrusted_proxy_headers=True,
        )
        self.port = int(self._server.effective_port)
        self._closing = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        """Serve until close() is called."""
        from waitress import wasyncore

        server: Any = self._server
        while not self._closing:
            wasyncore.loop(timeout=0.2, map=server._map, use_poll=True, count=1)

    def start(self) -> HttpServer:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop: let requests in progress finish and flush, then stop the loop and close sockets.

        Closing sockets under a running loop (or under a worker still writing) makes waitress
        log tracebacks at shutdown; this order does not."""
        from waitress import wasyncore

        server: Any = self._server
        server.accepting = False
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
        self._closing = True
        if self._thread:
            self._thread.join(timeout=5)
        wasyncore.close_all(server._map)


def serve(app: App, services: Runtime) -> None:
    """Run until SIGTERM/SIGINT: Socket Mode with an app token, otherwise HTTP on PORT."""
    settings = services.settings
    stop = threading.Event()
    services.start_background()
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert settings.SLACK_APP_TOKEN is not None
        handler = SocketModeHandler(app, settings.SLACK_APP_TOKEN.get_secret_value())
        handler.connect()  # type: ignore[no-untyped-call]
        log.info("connected to Slack in Socket Mode")
        _wait(stop)
        handler.close()  # type: ignore[no-untyped-call]
        return
    assert settings.SLACK_SIGNING_SECRET is not None
    wsgi = SlackWsgiApp(
        app=app, services=services, signing_secret=settings.SLACK_SIGNING_SECRET.get_secret_value()
    )
    server = HttpServer(wsgi, host="0.0.0.0", port=settings.PORT)
    log.info("listening on port %s (POST /slack/events, GET /healthz)", server.port)
    server.start()
    _wait(stop)
    server.close()


def _wait(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
