"""OpenAI's moderation endpoint (free) for the content check: one request per batch of texts;
the SDK's errors become ServiceError. Moderation is OpenAI's alone, whatever backend trains.
Imported by the composition root only when it builds the bot (it loads the SDK)."""

from __future__ import annotations

from typing import Any

from openai import OpenAI
from sqlalchemy import Engine

from bot.config import Settings
from bot.core.jobs import ServiceError
from bot.core.moderation import Verdict
from bot.openai_gateway import _errors
from bot.services.content_check import ContentCheckService
from bot.services.ports import Clock, FileSource, ThreadPoster
from storage.content_checks import ContentCheckRepository
from storage.repositories import DatasetRepository

RETRIES = 5  # 429s and 5xx, after the SDK's backoff (it honours retry-after)


class OpenAIModeration:
    """`moderate(texts)`: one verdict per text, in order."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client

    def moderate(self, texts: list[str], *, model: str) -> list[Verdict]:
        """Classify `texts` in one request."""
        with _errors():
            response = self._client.moderations.create(model=model, input=texts)
        results = list(response.results or [])
        if len(results) != len(texts):
            raise ServiceError(
                "unavailable", f"unexpected answer ({len(results)} results for {len(texts)})"
            )
        return [_verdict(result) for result in results]


def _verdict(result: Any) -> Verdict:
    """The flag and the flagged categories (the API's names, such as `self-harm/intent`)."""
    categories = result.categories.model_dump(by_alias=True) if result.categories else {}
    return Verdict(
        flagged=bool(result.flagged),
        categories=tuple(name for name, on in categories.items() if on is True),
    )


def openai_moderation(settings: Settings) -> OpenAIModeration | None:
    """The moderation client on OPENAI_API_KEY (and OPENAI_BASE_URL); None without a key."""
    if settings.OPENAI_API_KEY is None:
        return None
    client = OpenAI(
        api_key=settings.OPENAI_API_KEY.get_secret_value(),
        base_url=settings.OPENAI_BASE_URL,
        max_retries=RETRIES,
        timeout=60.0,
    )
    return OpenAIModeration(client)


def content_checks(
    settings: Settings, *, engine: Engine, files: FileSource, notifier: ThreadPoster, clock: Clock
) -> ContentCheckService:
    """The content check: its store, the datasets' files, and OpenAI's endpoint when the bot
    has an OpenAI key (without one, a click gets the line that says so)."""
    return ContentCheckService(
        datasets=DatasetRepository(engine=engine),
        checks=ContentCheckRepository(engine=engine),
        files=files,
        moderator=openai_moderation(settings),
        notifier=notifier,
        clock=clock,
        max_bytes=settings.max_file_bytes,
    )
