"""Starting, approving and stopping jobs through signed commands, buttons and the start form."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import ids
from handlers.blocks.jobs import START_CALLBACK
from tests.conftest import DATA, shared
from tests.e2e.conftest import Bot, start_bot, wait_for
from tests.e2e.test_datasets import drop, reports
from tests.fakes.fake_openai import FakeOpenAI
from tests.fakes.fake_slack import FakeSlack

pytestmark = pytest.mark.db

JOBS = "/v1/fine_tuning/jobs"


def ready(bot: Bot, name: str = "drone.jsonl", content: bytes | None = None, **kw: Any) -> dict:
    """A valid dataset reported in C1 (stored and reacted to); returns the Slack file."""
    channel = kw.get("channel", "C1")
    file = drop(bot, content or shared("drone_training.jsonl").read_bytes(), name, **kw)
    ts = file["shares"]["private" if channel.startswith("D") else "public"][channel][0]["ts"]
    wait_for(lambda: "white_check_mark" in bot.slack.reactions(channel, ts), what="report")
    return file


def creates(openai: FakeOpenAI) -> list[Any]:
    return [c for c in openai.calls_to("POST", JOBS) if c.status == 200]


def job_posts(slack: FakeSlack, channel: str = "C1") -> list[dict[str, Any]]:
    """The job posts in `channel`, each as it was posted. A polling bot edits each into its
    job's status message ("… fine-tuning …", no longer "started"), and on a loaded machine
    that can happen before a test looks: the current text alone could miss the post."""
    posts = [{**m, **(m["edits"][0] if m["edits"] else {})} for m in slack.messages(channel)]
    return [m for m in posts if "started fine-tuning" in (m.get("text") or "")]


def ephemerals(slack: FakeSlack) -> list[str]:
    return [c.params.get("text", "") for c in slack.calls_to("chat.postEphemeral")]


def test_command_starts_one_job_with_the_right_parameters(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot)
    status, payload = bot.command(
        f"start {file['id']} epochs=2 batch=4 lr=0.5 suffix=drone-bot seed=7", user="U5"
    )
    assert status == 200 and "Starting fine-tuning" in payload["text"], payload
    post = wait_for(lambda: job_posts(bot.slack), what="job post")[0]
    (call,) = creates(openai)
    body = call.json
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["method"] == {
        "type": "supervised",
        "supervised": {
            "hyperparameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5}
        },
    }
    assert (body["suffix"], body["seed"]) == ("drone-bot", 7)
    assert body["metadata"]["slack_user"] == "U5"
    assert body["metadata"]["slack_channel"] == "C1"
    assert body["metadata"]["dataset"] == file["id"]
    uploads = openai.calls_to("POST", "/v1/files")
    assert len(uploads) == 1 and body["training_file"] in openai.files
    assert (
        openai.files[body["training_file"]].content == shared("drone_training.jsonl").read_bytes()
    )
    # posted in the dataset's thread, with the estimate and a Cancel button
    assert post["thread_ts"] == file["shares"]["public"]["C1"][0]["ts"]
    blocks = json.dumps(post["blocks"])
    assert "<@U5>" in post["text"] and "Estimated cost $0." in post["text"]
    assert f'"action_id": "{ids.JOB_CANCEL}"' in blocks
    job_id = next(iter(openai.jobs))
    assert f'"value": "{job_id}"' in blocks


def test_latest_and_names_resolve(bot: Bot, openai: FakeOpenAI) -> None:
    ready(bot, "first.jsonl")
    ready(bot, "second.jsonl", content=(DATA / "bom.jsonl").read_bytes())
    bot.command("start latest")
    wait_for(lambda: creates(openai), what="job")
    assert openai.files[creates(openai)[0].json["training_file"]].obj["filename"] == "second.jsonl"
    bot.command("start first.jsonl")
    wait_for(lambda: len(creates(openai)) == 2, what="second job")
    assert openai.files[creates(openai)[1].json["training_file"]].obj["filename"] == "first.jsonl"


def test_same_content_twice_is_uploaded_once(bot: Bot, openai: FakeOpenAI) -> None:
    content = shared("drone_training.jsonl").read_bytes()
    one = ready(bot, "a.jsonl", content)
    two = ready(bot, "b.jsonl", content)
    bot.command(f"start {one['id']}")
    wait_for(lambda: len(creates(openai)) == 1, what="first job")
    bot.command(f"start {two['id']}")
    wait_for(lambda: len(creates(openai)) == 2, what="second job")
    assert len(openai.calls_to("POST", "/v1/files")) == 1
    assert creates(openai)[0].json["training_file"] == creates(openai)[1].json["training_file"]


def test_invalid_dataset_and_bad_values_are_refused(bot: Bot, openai: FakeOpenAI) -> None:
    bad = drop(bot, (DATA / "invalid_json.jsonl").read_bytes(), "bad.jsonl")
    wait_for(lambda: reports(bot.slack), what="report")
    _, payload = bot.command(f"start {bad['id']}")
    assert "needs fixes" in payload["text"]
    _, payload = bot.command("start nothing-here.jsonl")
    assert "can't find" in payload["text"]
    _, payload = bot.command("start latest epochs=99")
    assert "between 1 and 50" in payload["text"]
    assert openai.calls == []


def test_form_opens_and_one_submission_starts_one_job(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot)
    assert bot.click(ids.DATASET_START, file["id"], trigger_id=bot.slack.new_trigger_id()) == 200
    opened = wait_for(lambda: bot.slack.calls_to("views.open"), what="views.open")[0]
    view = opened.params["view"]
    assert view["callback_id"] == START_CALLBACK
    blocks = json.dumps(view["blocks"])
    for field in ("model", "method", "epochs", "batch", "lr", "suffix", "seed"):
        assert f'"block_id": "{field}"' in blocks
    assert "Estimated cost" in blocks and "gpt-4.1-mini-2025-04-14" in blocks
    metadata = view["private_metadata"]
    values = {
        "model": {"value": {"type": "static_select", "selected_option": {"value": "gpt-4.1-mini-2025-04-14"}}},
        "method": {"value": {"type": "static_select", "selected_option": {"value": "supervised"}}},
        "epochs": {"value": "3"},
        "suffix": {"value": "form-run"},
    }  # fmt: skip
    for _ in range(3):  # double submit and a Slack retry: one job
        status, _ = bot.submit(START_CALLBACK, values, private_metadata=metadata, view_id="V77")
        assert status == 200
    wait_for(lambda: job_posts(bot.slack), what="job post")
    assert len(creates(openai)) == 1
    body = creates(openai)[0].json
    assert body["model"] == "gpt-4.1-mini-2025-04-14" and body["suffix"] == "form-run"
    assert body["method"]["supervised"]["hyperparameters"] == {"n_epochs": 3}
    assert len(job_posts(bot.slack)) == 1


def test_form_errors_come_back_on_the_fields(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot)
    values = {
        "model": {"value": {"type": "static_select", "selected_option": {"value": "gpt-4o-mini-2024-07-18"}}},
        "method": {"value": {"type": "static_select", "selected_option": {"value": "dpo"}}},
        "epochs": {"value": "0"},
        "lr": {"value": "-2"},
        "suffix": {"value": "Has Spaces"},
    }  # fmt: skip
    metadata = json.dumps({"dataset": file["id"]})
    status, payload = bot.submit(START_CALLBACK, values, private_metadata=metadata)
    assert status == 200 and payload["response_action"] == "errors"
    assert set(payload["errors"]) == {"epochs", "lr", "suffix"}
    values.update({"epochs": {"value": "2"}, "lr": {"value": ""}, "suffix": {"value": ""}})
    status, payload = bot.submit(START_CALLBACK, values, private_metadata=metadata)
    assert payload["response_action"] == "errors" and "dpo" in payload["errors"]["model"]
    assert openai.calls == []


def test_approval_above_the_threshold(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI
) -> None:
    slack.add_user("UADMIN")
    slack.add_user("UWS", is_admin=True)
    bot = start_bot(slack, database_url, openai, FTBOT_APPROVAL_USD=0.01, FTBOT_ADMINS="UADMIN")
    try:
        ready(bot)
        _, payload = bot.command("start latest", user="UREQ")
        assert "approval threshold" in payload["text"]
        request = wait_for(
            lambda: [m for m in slack.messages("C1") if "must approve" in (m.get("text") or "")],
            what="approval request",
        )[0]
        key = next(
            e["value"]
            for b in request["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == ids.JOB_APPROVE
        )
        assert bot.click(ids.JOB_APPROVE, key, user="UOTHER") == 200
        assert bot.click(ids.JOB_APPROVE, key, user="UREQ") == 200
        wait_for(lambda: len(ephemerals(slack)) >= 2, what="refusals")
        assert all("can't approve" in text for text in ephemerals(slack))
        assert creates(openai) == []
        assert bot.click(ids.JOB_APPROVE, key, user="UADMIN") == 200
        post = wait_for(lambda: job_posts(slack), what="job post")[0]
        assert "<@UREQ>" in post["text"]
        assert bot.click(ids.JOB_APPROVE, key, user="UWS") == 200  # a second admin: no effect
        wait_for(
            lambda: any("already approved" in text for text in ephemerals(slack)),
            what="the second approval answered",
        )
        assert len(creates(openai)) == 1
        updated = [
            c for c in slack.calls_to("chat.update") if "approved" in c.params.get("text", "")
        ]
        assert len(updated) == 1 and "<@UADMIN>" in updated[0].params["text"]
    finally:
        bot.stop()


def start_one(bot: Bot, openai: FakeOpenAI, owner: str = "UOWNER") -> str:
    ready(bot)
    bot.command("start latest", user=owner)
    wait_for(lambda: job_posts(bot.slack), what="job post")
    return next(iter(openai.jobs))


@pytest.mark.parametrize("who", ["UOWNER", "UADMIN", "UWS"])
def test_owner_and_admins_can_cancel(
    slack: FakeSlack, database_url: str, openai: FakeOpenAI, who: str
) -> None:
    slack.add_user("UWS", is_owner=True)
    slack.add_user("UADMIN")
    bot = start_bot(slack, database_url, openai, FTBOT_ADMINS="UADMIN")
    try:
        job_id = start_one(bot, openai)
        _, payload = bot.command(f"cancel {job_id[:12]}", user=who)
        assert "cancelled" in payload["text"], payload
        assert len(openai.calls_to("POST", f"{JOBS}/{job_id}/cancel")) == 1
        assert openai.jobs[job_id]["status"] == "cancelled"
        assert any(f"<@{who}> cancelled job" in (m.get("text") or "") for m in slack.messages("C1"))
    finally:
        bot.stop()


def test_anyone_else_is_refused_without_calling_openai(bot: Bot, openai: FakeOpenAI) -> None:
    job_id = start_one(bot, openai)
    for action in ("cancel", "pause", "resume"):
        _, payload = bot.command(f"{action} {job_id}", user="UOTHER")
        assert "only its owner <@UOWNER> or an admin" in payload["text"]
    assert bot.click(ids.JOB_CANCEL, job_id, user="UOTHER") == 200
    wait_for(lambda: ephemerals(bot.slack), what="refusal")
    assert "only its owner" in ephemerals(bot.slack)[0]
    assert [c for c in openai.calls if c.path.startswith(f"{JOBS}/{job_id}/")] == []
    assert openai.jobs[job_id]["status"] != "cancelled"


def test_cancel_button_and_pause_resume_by_owner(bot: Bot, openai: FakeOpenAI) -> None:
    job_id = start_one(bot, openai)
    _, payload = bot.command(f"pause {job_id}", user="UOWNER")
    assert "paused" in payload["text"]
    _, payload = bot.command(f"resume {job_id}", user="UOWNER")
    assert "resumed" in payload["text"]
    assert bot.click(ids.JOB_CANCEL, job_id, user="UOWNER") == 200
    wait_for(lambda: openai.jobs[job_id]["status"] == "cancelled", what="cancel")


def test_unknown_and_ambiguous_job_references(bot: Bot, openai: FakeOpenAI) -> None:
    _, payload = bot.command("cancel ftjob-nope")
    assert "No job matches" in payload["text"]
    assert openai.calls == []


def test_wind_down_403_is_explained(bot: Bot, openai: FakeOpenAI) -> None:
    openai.training_not_available = True
    ready(bot)
    bot.command("start latest")
    message = wait_for(
        lambda: [
            m for m in bot.slack.messages("C1") if "can no longer start" in (m.get("text") or "")
        ],
        what="wind-down message",
    )[0]
    assert "developers.openai.com/api/docs/deprecations" in message["text"]
    assert len(openai.calls_to("POST", "/v1/files")) == 1  # the upload still worked
    assert "Retry" not in json.dumps(message.get("blocks") or [])


def test_outage_is_reported_with_a_retry_button_and_nothing_is_lost(
    bot: Bot, openai: FakeOpenAI
) -> None:
    ready(bot)
    openai.fail_next("POST", JOBS, status=503, times=3, retry_after_ms=1)
    bot.command("start latest", user="UOWNER")
    message = wait_for(
        lambda: [m for m in bot.slack.messages("C1") if "didn't start" in (m.get("text") or "")],
        what="error post",
    )[0]
    key = next(
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.JOB_RETRY
    )
    assert creates(openai) == []
    assert bot.click(ids.JOB_RETRY, key, user="UOWNER") == 200
    wait_for(lambda: job_posts(bot.slack), what="job post")
    assert len(creates(openai)) == 1


def test_a_create_that_failed_after_reaching_openai_is_not_repeated(
    bot: Bot, openai: FakeOpenAI
) -> None:
    ready(bot)
    openai.fail_next("POST", JOBS, status=500, apply_then_fail=True)
    bot.command("start latest")
    wait_for(lambda: job_posts(bot.slack), what="job post")
    assert len(openai.jobs) == 1  # found by its metadata instead of creating a second one


def test_cost_command(bot: Bot, openai: FakeOpenAI) -> None:
    ready(bot)
    _, payload = bot.command("cost latest model=gpt-4.1-mini epochs=2")
    assert "57,716 billed tokens per epoch × 2 epochs" in payload["text"]
    assert "= *$0.58*" in payload["text"]


def test_upload_only(bot: Bot, openai: FakeOpenAI) -> None:
    file = ready(bot)
    assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
    assert bot.click(ids.DATASET_UPLOAD, file["id"]) == 200
    wait_for(
        lambda: (
            len(
                [
                    m
                    for m in bot.slack.messages("C1")
                    if "uploaded `drone.jsonl`" in (m.get("text") or "")
                ]
            )
            == 2
        ),
        what="upload notes",
    )
    assert len(openai.calls_to("POST", "/v1/files")) == 1


def test_validation_file_and_openai_file_reference(bot: Bot, openai: FakeOpenAI) -> None:
    train = ready(bot, "train.jsonl")
    ready(bot, "valid.jsonl", content=(DATA / "bom.jsonl").read_bytes())
    bot.command(f"start {train['id']} validation=valid.jsonl")
    wait_for(lambda: creates(openai), what="job")
    body = creates(openai)[0].json
    assert openai.files[body["validation_file"]].obj["filename"] == "valid.jsonl"
    # the uploaded file can now be named by its OpenAI id
    bot.command(f"start {body['training_file']}")
    wait_for(lambda: len(creates(openai)) == 2, what="second job")
    assert creates(openai)[1].json["training_file"] == body["training_file"]


def test_openai_validation_errors_name_the_field(bot: Bot, openai: FakeOpenAI) -> None:
    openai.fine_tunable_models.discard("gpt-4o-mini-2024-07-18")
    ready(bot)
    bot.command("start latest")
    message = wait_for(
        lambda: [m for m in bot.slack.messages("C1") if "rejected" in (m.get("text") or "")],
        what="rejection",
    )[0]
    assert "(field `model`)" in message["text"]
