"""Shared files: files.info, then a streamed, capped download from Slack's own file host only."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from slack_sdk import WebClient

from bot.core.reports import megabytes
from bot.services.ports import DownloadRefused, RemoteFile

SLACK_FILE_HOST = "files.slack.com"
_CHUNK = 1 << 20
_MAX_REDIRECTS = 3


def allowed_hosts(api_url: str) -> frozenset[str]:
    """Slack's file host, plus the host of a non-default SLACK_API_URL (a proxy or a test fake)."""
    host = urlsplit(api_url).netloc.lower()
    if host in ("slack.com", "www.slack.com", ""):
        return frozenset({SLACK_FILE_HOST})
    return frozenset({SLACK_FILE_HOST, host})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand, so the token is never sent to another host."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class SlackFileSource:
    """FileSource over the Web API and Slack's file host."""

    def __init__(self, *, client: WebClient, token: str, hosts: frozenset[str]) -> None:
        self._client = client
        self._token = token
        self._hosts = hosts
        self._opener = urllib.request.build_opener(_NoRedirect)

    def info(self, file_id: str, channel_id: str) -> RemoteFile:
        """The file's name, size, download URL and the message that shared it in `channel_id`."""
        file = self._client.files_info(file=file_id)["file"]
        shares = file.get("shares") or {}
        thread_ts = None
        for kind in ("public", "private"):
            entries = (shares.get(kind) or {}).get(channel_id) or []
            if entries:
                thread_ts = entries[0].get("thread_ts") or entries[0].get("ts")
                break
        return RemoteFile(
            id=file["id"],
            name=file.get("name") or file.get("title") or file["id"],
            size=int(file.get("size") or 0),
            filetype=file.get("filetype") or "",
            user_id=file.get("user") or "",
            download_url=file.get("url_private_download") or file.get("url_private") or "",
            thread_ts=thread_ts,
            in_dm=channel_id.startswith("D"),
        )

    def download(
        self,
        file: RemoteFile,
        dest: Path,
        *,
        max_bytes: int,
        progress: Callable[[int], None] | None = None,
    ) -> str:
        """Stream the file to `dest` (refusing foreign hosts and oversize); return its sha256."""
        url = file.download_url
        for _ in range(_MAX_REDIRECTS + 1):
            if urlsplit(url).netloc.lower() not in self._hosts:
                raise DownloadRefused("its download link is not on Slack's file host.")
            request = urllib.request.Request(url)
            request.add_unredirected_header("Authorization", f"Bearer {self._token}")
            try:
                response = self._opener.open(request, timeout=60)
            except urllib.error.HTTPError as error:
                if error.code in (301, 302, 303, 307, 308) and error.headers.get("Location"):
                    url = urljoin(url, error.headers["Location"])
                    continue
                raise DownloadRefused(f"Slack answered {error.code} to the download.") from None
            with response:
                return _stream(response, dest, max_bytes, progress)
        raise DownloadRefused("the download was redirected too many times.")


def _stream(
    response: object, dest: Path, max_bytes: int, progress: Callable[[int], None] | None
) -> str:
    digest = hashlib.sha256()
    done = 0
    with dest.open("wb") as out:
        while chunk := response.read(_CHUNK):  # type: ignore[attr-defined]
            done += len(chunk)
            if done > max_bytes:
                raise DownloadRefused(
                    f"it is larger than the limit of {megabytes(max_bytes)} MB (an admin can raise it)."
                )
            digest.update(chunk)
            out.write(chunk)
            if progress:
                progress(done)
    return digest.hexdigest()
