"""The typed commands `/finetune` parses into (one frozen dataclass per subcommand)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Help:
    """`help`."""


@dataclass(frozen=True, slots=True)
class Datasets:
    """`datasets`: this channel's datasets."""


@dataclass(frozen=True, slots=True)
class Cost:
    """`cost <dataset> [model=] [epochs=] [backend=]`."""

    dataset: str
    model: str | None = None
    epochs: int | None = None
    backend: str | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """`start <dataset> [backend=] [model=] [epochs=] [batch=] [lr=] [suffix=] [validation=]
    [seed=] [method=] [training=lora|full] [checkpoints=] [holdout=P%] [eval=on|off]`.

    `lr` is OpenAI's learning-rate multiplier or Together's absolute learning rate, by backend;
    `backend` None means: inferred from `model`, else the default backend (product §9)."""

    dataset: str
    model: str | None = None
    epochs: int | None = None
    batch: int | None = None
    lr: float | None = None
    suffix: str | None = None
    validation: str | None = None
    seed: int | None = None
    method: str = "supervised"
    backend: str | None = None
    training: str | None = None  # Together: "lora" (its default) or "full"
    checkpoints: int | None = None  # Together: number of intermediate checkpoints
    holdout: int | None = None  # percent of the examples kept back for evaluation
    evaluate: bool = True  # `eval=off`: no automatic scorecard when the job succeeds


@dataclass(frozen=True, slots=True)
class JobAction:
    """`cancel|pause|resume <job>`."""

    action: str
    job: str


@dataclass(frozen=True, slots=True)
class JobQuery:
    """`status|checkpoints|chart|watch <job>`."""

    what: str
    job: str


@dataclass(frozen=True, slots=True)
class Events:
    """`events <job> [N]`."""

    job: str
    count: int = 10


@dataclass(frozen=True, slots=True)
class Jobs:
    """`jobs [mine|all]` (default: this channel's)."""

    scope: str = "channel"


@dataclass(frozen=True, slots=True)
class Models:
    """`models`."""


@dataclass(frozen=True, slots=True)
class Try:
    """`try [model] <prompt>`."""

    prompt: str
    model: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteModel:
    """`delete-model <model>`."""

    model: str


@dataclass(frozen=True, slots=True)
class Deploy:
    """`deploy <model> [name=<deployment>]` (Azure OpenAI models)."""

    model: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    """`compare <model> [dataset] [n=20]`."""

    model: str
    dataset: str | None = None
    n: int = 20


@dataclass(frozen=True, slots=True)
class Eval:
    """`eval <model> <dataset> [backend=] [n=]` (`backend`: where a base model is asked;
    `n`: at most that many examples, within FTBOT_EVAL_EXAMPLES)."""

    model: str
    dataset: str
    backend: str | None = None
    n: int | None = None


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """`leaderboard <dataset>`: every model evaluated on it, ranked."""

    dataset: str


@dataclass(frozen=True, slots=True)
class Usage:
    """`usage`."""


Command = (
    Help
    | Datasets
    | Cost
    | Start
    | JobAction
    | JobQuery
    | Events
    | Jobs
    | Models
    | Try
    | Compare
    | Eval
    | Leaderboard
    | DeleteModel
    | Deploy
    | Usage
)
