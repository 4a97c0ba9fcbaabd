"""Slack identifiers, defined once: contract action ids, callback ids, metadata types."""

from __future__ import annotations

SLASH_COMMAND = "/finetune"

# Interactive action ids (contract: product.md §5).
JOB_CANCEL = "job_cancel"
CHECKPOINT_CHOOSE = "checkpoint_choose"
JOB_APPROVE = "job_approve"
DATASET_START = "dataset_start"
DATASET_MODERATE = "dataset_moderate"  # Check content: the dataset doctor (product §11)
JOB_START_ELSEWHERE = "job_start_elsewhere"  # the wind-down path (product §9)
DATASET_FIX = "dataset_fix"  # the dataset doctor (product §11)
DATASET_SPLIT = "dataset_split"
# Ours.
DATASET_UPLOAD = "dataset_upload"
JOB_RETRY = "job_retry"
JOB_DECLINE = "job_decline"  # the other answer to an approval request
MODEL_DELETE = "model_delete"
CONFIRM_COMMAND = "confirm_command"
CONFIRM_DISMISS = "confirm_dismiss"  # the Cancel of a confirmation
LIST_MORE = "list_more"
START_BACKEND = "start_backend"  # the start form's backend picker
START_MODEL = "start_model"  # its model picker and epochs: both update the estimate line
START_EPOCHS = "start_epochs"
JOB_MENU = "job_menu"  # a `jobs` row's overflow menu: Status, Cancel, Chart
HOME_JOB_CANCEL = "home_job_cancel"  # Cancel on a running job in the Home tab
HOME_MODEL_TRY = "home_model_try"  # Try on a model in the Home tab: opens the prompt form
TRY_CALLBACK = "try_model"  # the prompt form's callback id
# The next steps offered on a finished job's status message and outcome notice.
JOB_TRY = "job_try"  # value: the model; opens a prompt form
JOB_COMPARE = "job_compare"  # value: the model; compares it with its base on the job's data
JOB_CHECKPOINTS = "job_checkpoints"  # value: the job id; its checkpoint choice
JOB_CHART = "job_chart"  # value: the job id; its loss chart in the thread
DATASET_FIX_MODE = "dataset_fix_mode"  # Fix it: drop or trim the examples over the limit

MARKER_EVENT_TYPE = "ftbot_marker"  # message metadata that lets the bot find its own posts
