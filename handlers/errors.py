"""The last line of defence: one friendly line for the user, the details in the log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from handlers.payloads import STALE, StaleButton, tell_clicker

log = logging.getLogger("finetune_bot.errors")

SORRY = (
    "Sorry, something went wrong on my side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell an admin."
)


class StickyAck(Ack):
    """An Ack whose answer, once given, stays given.

    When a listener raises after `ack()`, Bolt's thread runner sets `ack.response` back to None;
    if that happens before the request thread saw the answer (within its 10 ms poll), the
    request waits out the 3 s and Slack gets a 404. Here the reset to None is ignored.
    """

    def __init__(self) -> None:
        self._given: BoltResponse | None = None
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def response(self) -> BoltResponse | None:
        """The answer for Slack, once ack() (or the error handler) gave one."""
        return self._given

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self._given is None:
            self._given = value


def register(app: App) -> None:
    """Install the global error handler (and the ack that survives a listener's failure)."""

    @app.middleware
    def sticky_ack(context: BoltContext, next: Callable[[], None]) -> None:
        context["ack"] = StickyAck()
        next()

    @app.error
    def handle_error(
        error: Exception,
        body: dict[str, Any],
        respond: Respond | None,
        client: WebClient,
        response: BoltResponse | None,
    ) -> BoltResponse | None:
        if isinstance(error, StaleButton):
            return _stale(error, body, respond, client, response)
        kind = body.get("type") or body.get("command") or "request"
        log.error("unhandled error in %s: %s", kind, error, exc_info=error)
        if respond is not None and body.get("response_url"):
            try:
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:
                log.exception("could not tell the user about the error")
        return None


def _stale(
    error: StaleButton,
    body: dict[str, Any],
    respond: Respond | None,
    client: WebClient,
    response: BoltResponse | None,
) -> BoltResponse | None:
    """Ack (when the listener had not) and say in one line that the click cannot be used."""
    kind = body.get("type")
    log.info("stale %s refused: %s", kind, error)
    if kind == "view_submission":  # no channel to answer in: the form itself shows the line
        view = View(
            type="modal",
            title="Finetune Bot",
            close="Close",
            blocks=[SectionBlock(text=PlainTextObject(text=STALE))],
        )
        answer = json.dumps({"response_action": "update", "view": view.to_dict()})
        if response is None:  # already acked: the form is closed
            return None
        return BoltResponse(status=200, body=answer, headers={"content-type": "application/json"})
    try:
        _tell(body, respond, client)
    except Exception:
        log.exception("could not tell the user their button is stale")
    return None if response is None else BoltResponse(status=200, body="")


def _tell(body: dict[str, Any], respond: Respond | None, client: WebClient) -> None:
    if respond is not None and body.get("response_url"):
        respond(text=STALE, response_type="ephemeral", replace_original=False)
        return
    tell_clicker(client, body, STALE)
