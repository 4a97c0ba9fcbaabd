"""Shared plumbing for the fakes: a threaded HTTP server, request/response types, multipart."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class FilePart:
    """One file field of a multipart body."""

    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class Request:
    """An HTTP request as the fake saw it (body fully read)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when absent)."""
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()


@dataclass
class Response:
    """What the fake answers; ``chunk_size`` streams the body in flushed chunks."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunk_size: int | None = None

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON response."""
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(obj).encode(), all_headers)


# A handler returns ``DROP`` to close the socket without answering.
DROP: Response = Response(status=-1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=self._read_body(),
        )
        fake = self.server.fake
        try:
            response = fake.handle(request)
        except Exception:
            fake.errors.append(traceback.format_exc())
            response = Response(500, b"fake server error", {"Content-Type": "text/plain"})
        if response is DROP or response.status < 0:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        headers = {"Content-Length": str(len(response.body)), **response.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        step = response.chunk_size or len(response.body) or 1
        for start in range(0, len(response.body), step):
            self.wfile.write(response.body[start : start + step])
            self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def process_request(self, request: Any, client_address: Any) -> None:
        self.fake._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.fake._connections.discard(request)
        super().shutdown_request(request)


class FakeServer:
    """Base class: an HTTP server on ``host`` (port 0) served from a background thread.

    Subclasses implement :meth:`handle`. Exceptions raised by ``handle`` are answered with a
    500 and their tracebacks collected in :attr:`errors` (tests may assert it stays empty).
    """

    default_host: ClassVar[str] = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None  # set before start() to serve https

    def __init__(self, host: str | None = None) -> None:
        self.ip = host or self.default_host
        self.lock = threading.RLock()
        self.errors: list[str] = []
        self._connections: set[Any] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind to a free port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server = _Server((self.ip, 0), _Handler)
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open (keep-alive) connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the server must be started)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """``ip:port``, e.g. ``127.0.0.1:54321``."""
        return f"{self.ip}:{self.port}"

    @property
    def origin(self) -> str:
        """``http(s)://ip:port`` without a trailing slash."""
        return f"{'https' if self.ssl_context else 'http'}://{self.host}"

    def handle(self, request: Request) -> Response:
        """Answer one request (runs on a server thread)."""
        raise NotImplementedError


_PARAM_RE = re.compile(r';\s*([\w\-]+)\*?=("(?:[^"\\]|\\.)*"|[^;]*)')


def header_params(value: str) -> dict[str, str]:
    """Parameters of a header value such as ``form-data; name="file"; filename="a.jsonl"``."""
    return {k.lower(): v.strip().strip('"') for k, v in _PARAM_RE.findall(value)}


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, FilePart]]:
    """Split a ``multipart/form-data`` body into plain fields and file fields."""
    boundary = header_params(content_type).get("boundary")
    if not boundary:
        raise ValueError("multipart body without boundary")
    form: dict[str, str] = {}
    files: dict[str, FilePart] = {}
    for raw in body.split(b"--" + boundary.encode())[1:]:
        if raw.startswith(b"--"):
            break
        head, _, content = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = header_params(headers.get("content-disposition", ""))
        name = disposition.get("name", "")
        if "filename" in disposition or "content-type" in headers:
            files[name] = FilePart(
                disposition.get("filename"), headers.get("content-type"), content
            )
        else:
            form[name] = content.decode("utf-8", "replace")
    return form, files
