"""A "foreign" HTTP host (default 127.0.0.2) that records what it receives.

Used to prove the bot never sends the Slack token outside Slack's file host: point a file's
``url_private_download`` at it (``FakeSlack.add_file(foreign_host=host.host)``) or redirect to
it (``add_file(redirect_to=host.url("/x"))``), then inspect :attr:`RecordingHost.requests`.
"""

from __future__ import annotations

from tests.fakes._http import FakeServer, Request, Response


class RecordingHost(FakeServer):
    """Answers every request with ``status``/``body`` and records it in :attr:`requests`."""

    default_host = "127.0.0.2"

    def __init__(
        self, host: str | None = None, *, body: bytes = b'{"foreign": true}\n', status: int = 200
    ) -> None:
        super().__init__(host)
        self.body = body
        self.status = status
        self.requests: list[Request] = []

    def url(self, path: str = "/files/data.jsonl") -> str:
        """An absolute URL on this host."""
        return f"{self.origin}{path}"

    def saw_header(self, name: str) -> bool:
        """True if any received request carried header ``name`` (case-insensitive)."""
        with self.lock:
            return any(r.header(name) is not None for r in self.requests)

    def handle(self, request: Request) -> Response:
        """Record and answer."""
        with self.lock:
            self.requests.append(request)
        return Response(self.status, self.body, {"Content-Type": "application/octet-stream"})
