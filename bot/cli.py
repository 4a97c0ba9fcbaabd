"""Command line: `finetune-bot validate FILE …`, `fix FILE`, `split FILE` (offline) and
`finetune-bot serve`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.config import SECRET_VARIABLES, Settings, SettingsError, check_serve, load_settings
from bot.core.commands import UsageError as BadNumber
from bot.core.commands import parse_epochs

if TYPE_CHECKING:
    from bot.report_models import ReportModels

EXIT_VALID, EXIT_NEEDS_FIXES, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    """A problem with how the command was called; reported in one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _epochs(value: str) -> int:
    try:
        return parse_epochs(value)  # ASCII digits only, as in Slack
    except BadNumber as error:
        raise argparse.ArgumentTypeError(str(error).replace("`", "")) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument grammar of the console script."""
    parser = _Parser(
        prog="finetune-bot",
        description="Run fine-tuning on OpenAI, Together AI or Azure OpenAI from Slack.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    validate = sub.add_parser(
        "validate",
        help="check a dataset file offline and estimate its training cost",
        description="Validate a JSONL (or JSON array) fine-tuning dataset; no network needed. "
        "Exit 0 when it is ready to train, 1 when it needs fixes, 2 on a usage problem.",
    )
    validate.add_argument("file", type=Path, help="the .jsonl or .json dataset")
    validate.add_argument(
        "--backend",
        choices=("openai", "together", "azure"),
        help="backend whose rules and limits apply (default: the backend of --model, else "
        "FTBOT_DEFAULT_BACKEND, else openai while it takes new jobs and is configured)",
    )
    validate.add_argument(
        "--model",
        help="base model to estimate for (default FTBOT_DEFAULT_MODEL on openai, "
        "FTBOT_TOGETHER_MODEL on together)",
    )
    validate.add_argument("--epochs", type=_epochs, help="epochs to price (default: the service's)")
    validate.add_argument("--json", action="store_true", help="print one JSON object")
    from bot.cli_doctor import add_doctor_commands

    add_doctor_commands(sub)
    sub.add_parser(
        "serve",
        help="run the Slack app",
        description="Serve Slack: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on PORT "
        "(POST /slack/events, GET /healthz). Migrates the database at start.",
    )
    return parser


def _serve() -> int:
    # Every setting is checked with only bot.config imported: a missing one is answered at once
    # and nothing (database file, lock, migration) is created before it is.
    settings = load_settings()
    check_serve(settings)
    import logging
    import os

    from bot.app import build
    from bot.server import serve

    # The settings hold the secrets now. Left in the environment, Bolt would read
    # SLACK_BOT_TOKEN beside the client it is given ("'token' will be unused") and any
    # child process would inherit them.
    for name in SECRET_VARIABLES:
        os.environ.pop(name, None)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app, services = build(settings)
    try:
        serve(app, services)
    finally:
        services.close()
    return 0


def _validate(args: argparse.Namespace) -> int:
    from bot.core.validation import analyze
    from bot.report_text import render

    today = dt.date.today()
    models = _report_models(args, today)
    path: Path = args.file
    check_file(path)
    report = analyze(path, model=models.model, epochs=args.epochs, today=today, also=models.also)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(render(report, path.name))
    return EXIT_VALID if report.valid else EXIT_NEEDS_FIXES


def check_file(path: Path) -> None:
    """UsageError unless `path` is an existing regular file."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if not path.is_file():
        raise UsageError(f"not a file: {path}")


def _report_models(args: argparse.Namespace, today: dt.date) -> ReportModels:
    """The model (and other backends' defaults) that --backend/--model and the settings name."""
    from bot.core.models import use_prices
    from bot.report_models import ModelChoiceError, choose

    settings = load_settings()
    use_prices(settings.price_overrides)
    try:
        return choose(
            backend=args.backend,
            model=args.model,
            default_backend=_default_backend(settings, today) if not args.backend else "",
            configured=settings.configured_backends,
            defaults={
                "FTBOT_DEFAULT_MODEL": settings.FTBOT_DEFAULT_MODEL,
                "FTBOT_TOGETHER_MODEL": settings.FTBOT_TOGETHER_MODEL,
            },
        )
    except ModelChoiceError as exc:
        raise UsageError(str(exc)) from None


def _default_backend(settings: Settings, today: dt.date) -> str:
    """The default backend of these settings (pure: no service layer, no SQLAlchemy)."""
    from bot.core.backend_names import default_backend

    return default_backend(
        settings.configured_backends, chosen=settings.FTBOT_DEFAULT_BACKEND, today=today
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `finetune-bot` console script; never shows a traceback."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return _validate(args)
        if args.command == "serve":
            return _serve()
        if args.command in ("fix", "split"):
            from bot.cli_doctor import run_doctor

            return run_doctor(args, _report_models)
        raise UsageError(f"unknown command {args.command!r}")
    except (UsageError, SettingsError) as exc:
        print(f"finetune-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"finetune-bot: {where}{exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(f"finetune-bot: unexpected error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
