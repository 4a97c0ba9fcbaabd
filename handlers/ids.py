"""Slack identifiers, defined once: contract action ids, callback ids, metadata types."""

from __future__ import annotations

import re

SLASH_COMMAND = "/finetune"

# Interactive action ids (contract: product.md §5).
JOB_CANCEL = "job_cancel"
CHECKPOINT_CHOOSE = "checkpoint_choose"
JOB_APPROVE = "job_approve"
DATASET_START = "dataset_start"
# Ours.
DATASET_UPLOAD = "dataset_upload"

MARKER_EVENT_TYPE = "ftbot_marker"  # message metadata that lets the bot find its own posts

ACTION_IDS = (DATASET_START, DATASET_UPLOAD)
ACTION_PATTERN = re.compile("|".join(re.escape(a) for a in ACTION_IDS))
