"""The dataset a report's button names, if the clicker may see it (product §6): one lookup and
one refusal, the same for a dataset that is not there and one shared where the clicker isn't,
for every button on a report (Fix it, Split, Check content)."""

from __future__ import annotations

from bot.core.access import Viewer, may_see
from bot.services.errors import UserError
from storage.repositories import DatasetRecord, DatasetRepository

NOT_FOUND = "I can't find that dataset (it may have been shared where you can't see it)."


def reported_dataset(
    datasets: DatasetRepository, *, viewer: Viewer, slack_file_id: str
) -> DatasetRecord:
    """The reported dataset of that file; UserError(NOT_FOUND) otherwise."""
    found = datasets.get(slack_file_id=slack_file_id)
    if found is None or found.report is None or not may_see(viewer, found.channel_id):
        raise UserError(NOT_FOUND)
    return found
