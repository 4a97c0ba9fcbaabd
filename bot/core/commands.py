"""The /finetune grammar as data: `<subcommand> args key=value…` parsed into typed commands.

One table (SPECS) drives parsing, usage lines and help, so they cannot disagree.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core import start_rules
from bot.core.command_types import (
    Command,
    Compare,
    Cost,
    Datasets,
    DeleteModel,
    Deploy,
    Eval,
    Events,
    Help,
    JobAction,
    JobQuery,
    Jobs,
    Leaderboard,
    Models,
    Start,
    Try,
    Usage,
)
from bot.core.command_values import UsageError, _short, parse_eval, parse_holdout, parse_whole
from bot.core.fmt import number
from bot.core.models import UnknownModelError, resolve_model
from bot.core.start_rules import AZURE, OPENAI, OPENAI_LR, TOGETHER, TOGETHER_LR, lr_help

__all__ = [  # the command types are part of this module's interface
    "Command", "Compare", "Cost", "Datasets", "DeleteModel", "Deploy", "Eval", "Events", "Help",
    "JobAction", "JobQuery", "Jobs", "Leaderboard", "Models", "Start", "Try", "Usage",
    "UsageError", "parse_eval", "parse_holdout", "parse_whole",
]  # fmt: skip

SLASH = "/finetune"
METHODS = ("supervised", "dpo")
_SUFFIX = re.compile(r"[a-z0-9_-]{1,64}")
_DEPLOYMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")  # Azure's deployment names
# ASCII only (see bot.core.command_values).
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# The learning rate's meaning is the backend's (start_rules: OpenAI's multiplier 0.001–10,
# Together's absolute rate 1e-7–0.01); outside both, no backend takes it (1e-320 would be sent
# as is).
LR_MIN, LR_MAX = TOGETHER_LR[0], OPENAI_LR[1]
BACKENDS = (OPENAI, TOGETHER, AZURE)
TRAINING = ("lora", "full")


def _jobs(scope: str = "channel") -> Jobs:
    if scope.lower() not in ("mine", "all", "channel"):
        raise UsageError(f"`jobs` takes `mine` or `all`, not `{_short(scope)}`")
    return Jobs(scope.lower())


def _start(dataset: str, **options: Any) -> Start:
    """`start`: the option `eval=` fills the field `evaluate`."""
    if "eval" in options:
        options["evaluate"] = options.pop("eval")
    return Start(dataset, **options)


# ---- value parsers (shared with the start form) ----------------------------------------------


def parse_epochs(value: str) -> int:
    """Epochs: a whole number from 1 to 50."""
    return parse_whole(value, "epochs", *start_rules.EPOCHS.whole)


def parse_batch(value: str) -> int:
    """Batch size: a whole number from 1 to 256."""
    return parse_whole(value, "batch", *start_rules.BATCH.whole)


def parse_lr(value: str) -> float:
    """Learning rate: a positive decimal number within what any backend takes (each backend's
    own range, multiplier or absolute rate, is checked when the job is planned)."""
    if not _DECIMAL.fullmatch(value):
        raise UsageError(f"`lr` must be a number like 0.1, got `{_short(value)}`")
    lr = float(value)
    if not LR_MIN <= lr <= LR_MAX:
        raise UsageError(
            f"`lr` must be between {number(LR_MIN)} and {number(LR_MAX)} (OpenAI's multiplier or Together AI's "
            f"absolute rate), got {_short(value)}"
        )
    return lr


def parse_backend(value: str) -> str:
    """A backend's contract name: openai, together or azure."""
    name = value.lower()
    if name not in BACKENDS:
        names = ", ".join(f"`{b}`" for b in BACKENDS)
        raise UsageError(f"`backend` must be one of {names}, got `{_short(value)}`")
    return name


def parse_training(value: str) -> str:
    """Together's training type: lora or full."""
    kind = value.lower()
    if kind not in TRAINING:
        raise UsageError(f"`training` must be `lora` or `full`, got `{_short(value)}`")
    return kind


def parse_checkpoints(value: str) -> int:
    """Number of intermediate checkpoints (Together): a whole number from 1 to 20."""
    return parse_whole(value, "checkpoints", *start_rules.CHECKPOINTS.whole)


def parse_suffix(value: str) -> str:
    """Suffix: up to 64 characters of a-z, 0-9, - and _."""
    if not _SUFFIX.fullmatch(value):
        raise UsageError(
            f"`suffix` must be 1–64 characters of lowercase a-z, 0-9, `-` or `_`, got `{value}`"
        )
    return value


def parse_deployment(value: str) -> str:
    """An Azure deployment name: 2–64 letters, digits, `.`, `-` or `_`, starting alphanumeric."""
    if not _DEPLOYMENT.fullmatch(value):
        raise UsageError(
            "`name` must be an Azure deployment name: 2–64 letters, digits, `.`, `-` or `_`, "
            f"got `{_short(value)}`"
        )
    return value


def parse_seed(value: str) -> int:
    """Seed: a whole number."""
    return parse_whole(value, "seed", *start_rules.SEED.whole)


def parse_method(value: str) -> str:
    """Training method: supervised or dpo."""
    method = value.lower()
    if method not in METHODS:
        raise UsageError(f"`method` must be `supervised` or `dpo`, got `{_short(value)}`")
    return method


def parse_model(value: str) -> str:
    """A known base model (snapshot, alias or ft: name) as its snapshot id; an unknown name with
    a `/` (Together's `org/model` names) is kept as is, for the plan to refuse by name."""
    try:
        return resolve_model(value).id if not value.startswith("ft:") else value
    except UnknownModelError as error:
        if "/" in value:
            return value
        raise UsageError(f"`model`: {error}") from None


# ---- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spec:
    """One subcommand: its arguments, options, help text and how to build it."""

    name: str
    args: tuple[str, ...]
    summary: str
    example: str
    build: Callable[..., Command]
    options: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    optional: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        """`start <dataset> [model=…] …`."""
        parts = [self.name, *(f"<{a}>" for a in self.args), *(f"[{a}]" for a in self.optional)]
        parts += [f"[{o}=…]" for o in self.options]
        return " ".join(parts)


_START_OPTIONS: dict[str, Callable[[str], Any]] = {
    "model": parse_model,
    "epochs": parse_epochs,
    "batch": parse_batch,
    "lr": parse_lr,
    "suffix": parse_suffix,
    "validation": str,
    "seed": parse_seed,
    "method": parse_method,
    "backend": parse_backend,
    "training": parse_training,
    "checkpoints": parse_checkpoints,
    "holdout": parse_holdout,
    "eval": parse_eval,
}

SPECS: tuple[Spec, ...] = (
    Spec("help", (), "lists the subcommands with one example each", "help", lambda: Help()),
    Spec(
        "datasets",
        (),
        "datasets of this channel: name, verdict, examples, tokens, uploader",
        "datasets",
        lambda: Datasets(),
    ),
    Spec(
        "cost",
        ("dataset",),
        "the billing part of a dataset's report, for another model, epoch count or backend",
        "cost latest model=gpt-4.1-mini epochs=3",
        Cost,
        {"model": parse_model, "epochs": parse_epochs, "backend": parse_backend},
    ),
    Spec(
        "start",
        ("dataset",),
        "starts a fine-tuning job on a dataset (file ID, name or `latest`) on `backend=openai`, "
        "`together` or `azure` (default: the backend of `model=`, else the configured default); "
        "`holdout=20%` keeps that share of the examples back for evaluation (a scorecard is "
        "posted when the job succeeds; `eval=off` skips it); "
        f"`lr=` is {lr_help()}; `training=lora|full` and `checkpoints=N` are Together AI's",
        "start latest epochs=3 suffix=support-bot",
        _start,
        _START_OPTIONS,
    ),
    Spec(
        "cancel",
        ("job",),
        "cancels a job (its owner or an admin)",
        "cancel ftjob-abc123",
        lambda job: JobAction("cancel", job),
    ),
    Spec(
        "pause",
        ("job",),
        "pauses a running job (its owner or an admin)",
        "pause ftjob-abc123",
        lambda job: JobAction("pause", job),
    ),
    Spec(
        "resume",
        ("job",),
        "resumes a paused job (its owner or an admin)",
        "resume ftjob-abc123",
        lambda job: JobAction("resume", job),
    ),
    Spec(
        "status",
        ("job",),
        "one job's details and latest metrics",
        "status ftjob-abc123",
        lambda job: JobQuery("status", job),
    ),
    Spec(
        "events",
        ("job",),
        "the last N events of a job (default 10)",
        "events ftjob-abc123 20",
        lambda job, n="10": Events(job, parse_whole(n, "N", 1, 100)),
        optional=("N",),
    ),
    Spec(
        "checkpoints",
        ("job",),
        "a job's checkpoints with metrics and the choice buttons",
        "checkpoints ftjob-abc123",
        lambda job: JobQuery("checkpoints", job),
    ),
    Spec(
        "chart",
        ("job",),
        "posts the loss chart in the job's thread",
        "chart ftjob-abc123",
        lambda job: JobQuery("chart", job),
    ),
    Spec(
        "jobs",
        (),
        "jobs with owner, status, model, age (this channel's; `mine`; `all` channels)",
        "jobs mine",
        _jobs,
        optional=("mine|all",),
    ),
    Spec(
        "models",
        (),
        "fine-tuned models: owner, base model, job, chosen checkpoint",
        "models",
        lambda: Models(),
    ),
    Spec(
        "try",
        ("prompt",),
        "answers a prompt with a fine-tuned model (default: this channel's chosen one)",
        "try What is our refund policy?",
        lambda prompt: Try(prompt),
    ),
    Spec(
        "delete-model",
        ("model",),
        "deletes a fine-tuned model (its owner or an admin, after a confirmation)",
        "delete-model ft:gpt-4o-mini-2024-07-18:acme::abc123",
        DeleteModel,
    ),
    Spec(
        "deploy",
        ("model",),
        "Azure models: makes a Developer-tier deployment for `try`/`compare` (its owner or an "
        "admin), or records yours with `name=`; an admin records a base model's shared "
        "deployment (for `compare`) the same way, e.g. `deploy gpt-4o-mini-2024-07-18 name=base`",
        "deploy ft:gpt-4o-mini-2024-07-18.ft-abc123 name=support-bot",
        Deploy,
        {"name": parse_deployment},
    ),
    Spec(
        "compare",
        ("model",),
        "base and fine-tuned model answer the same examples (default: the job's validation "
        "data), with match rates",
        "compare ft:gpt-4o-mini-2024-07-18:acme::abc123 latest n=10",
        lambda model, dataset=None, n=20: Compare(model, dataset, n),
        {"n": lambda v: parse_whole(v, "n", 1, 100)},
        optional=("dataset",),
    ),
    Spec(
        "eval",
        ("model", "dataset"),
        "scores any model (fine-tuned or base, on any backend) on a dataset's held-out "
        "examples (`n=`: fewer): exact and normalised match, a graded win rate against its "
        "base, latency, cost",
        "eval ft:gpt-4o-mini-2024-07-18:acme::abc123 latest n=20",
        Eval,
        {"backend": parse_backend, "n": lambda v: parse_whole(v, "n", 1, 1000)},
    ),
    Spec(
        "leaderboard",
        ("dataset",),
        "every model evaluated on a dataset, on every backend, ranked: scores, training cost, "
        "inference price, this channel's chosen model, and a Use this model button",
        "leaderboard latest",
        Leaderboard,
    ),
    Spec(
        "usage",
        (),
        "tokens and cost by user, channel and backend (totals per backend), estimated and actual",
        "usage",
        lambda: Usage(),
    ),
    Spec(
        "watch",
        ("job",),
        "admin: adopt a job started elsewhere into this channel",
        "watch ftjob-abc123",
        lambda job: JobQuery("watch", job),
    ),
)
_BY_NAME = {spec.name: spec for spec in SPECS}


def usage_line(name: str | None = None) -> str:
    """`Usage: /finetune …` for one subcommand, or the list of subcommands."""
    if name in _BY_NAME:
        return f"Usage: `{SLASH} {_BY_NAME[name].usage}`"
    names = " | ".join(spec.name for spec in SPECS)
    return f"Usage: `{SLASH} <{names}>` — `{SLASH} help` explains each."


def help_lines() -> list[tuple[str, str, str]]:
    """(usage, summary, example) for every subcommand, in table order."""
    return [(f"{SLASH} {s.usage}", s.summary, f"{SLASH} {s.example}") for s in SPECS]


def _parse_try(text: str) -> Try:
    """`try [model] <prompt>`: the prompt is free text (quotes and apostrophes kept)."""
    rest = text.strip()[3:].strip()
    first, _, remainder = rest.partition(" ")
    model = None
    if first.startswith("ft:"):
        model = first
    else:
        try:
            model = resolve_model(first).id if remainder else None
        except UnknownModelError:
            model = None
    prompt = remainder.strip() if model else rest
    if not prompt:
        raise UsageError(f"`try` needs a prompt. {usage_line('try')}")
    return Try(prompt=prompt, model=model)


def parse(text: str) -> Command:
    """Parse the text after `/finetune` into a command, or raise UsageError."""
    if text.strip().lower().split(" ", 1)[0] == "try":
        return _parse_try(text)
    try:
        words = shlex.split(text.strip())
    except ValueError as exc:
        raise UsageError(f"I couldn't read that ({exc}). {usage_line()}") from None
    if not words:
        return Help()
    name = words[0].lower()
    spec = _BY_NAME.get(name)
    if spec is None:
        raise UsageError(f"Unknown subcommand `{_short(words[0])}`. {usage_line()}")
    positional: list[str] = []
    options: dict[str, Any] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq:
            positional.append(word)
            continue
        key = key.lower()
        if key not in spec.options:
            known = ", ".join(f"`{o}=`" for o in spec.options) or "no options"
            raise UsageError(
                f"`{name}` has no option `{key}=` (it takes {known}). {usage_line(name)}"
            )
        if key in options:
            raise UsageError(f"`{_short(key)}=` is given twice. {usage_line(name)}")
        if not value:
            raise UsageError(f"`{_short(key)}=` needs a value. {usage_line(name)}")
        try:
            options[key] = spec.options[key](value)
        except UsageError as error:
            raise UsageError(f"{error}. {usage_line(name)}") from None
    if len(positional) < len(spec.args):
        missing = spec.args[len(positional)]
        raise UsageError(f"`{name}` needs <{missing}>. {usage_line(name)}")
    if len(positional) > len(spec.args) + len(spec.optional):
        extra = positional[len(spec.args) + len(spec.optional)]
        raise UsageError(f"`{name}` doesn't take `{_short(extra)}`. {usage_line(name)}")
    try:
        return spec.build(*positional, **options)
    except UsageError as error:
        raise UsageError(f"{error}. {usage_line(name)}") from None
