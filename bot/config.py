"""Settings: every environment variable of the product contract, read once, failing in one line."""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.models import PriceOverride, UnknownModelError, backend_of_model, resolve_model
from bot.core.prices import PriceFileError, parse_prices


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    """Configuration from the environment (product.md §1). Empty values count as unset."""

    model_config = SettingsConfigDict(
        env_ignore_empty=True, case_sensitive=True, extra="ignore", frozen=True
    )

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_BASE_URL: str | None = None
    TOGETHER_API_KEY: SecretStr | None = None
    TOGETHER_BASE_URL: str | None = (
        None  # the together SDK's own variable (its default: api.together.ai)
    )
    # Azure OpenAI: the openai SDK's own variables for `AzureOpenAI` (product §9).
    AZURE_OPENAI_ENDPOINT: str | None = None
    AZURE_OPENAI_API_KEY: SecretStr | None = None
    OPENAI_API_VERSION: str | None = None
    DATABASE_URL: str = "sqlite:///finetune-bot.db"
    PORT: int = Field(default=3000, ge=0, le=65535)  # 0: any free port (tests)
    FTBOT_POLL_SECONDS: float = Field(default=30, gt=0)
    FTBOT_ADMINS: Annotated[tuple[str, ...], NoDecode] = ()
    FTBOT_DEFAULT_MODEL: str = "gpt-4o-mini-2024-07-18"
    FTBOT_MAX_FILE_MB: float = Field(default=512, gt=0)
    FTBOT_APPROVAL_USD: float | None = Field(default=None, ge=0)
    FTBOT_CHAT_MODEL: str = "gpt-4.1-mini"  # understands mentions and DMs (tool calling)
    FTBOT_DEFAULT_BACKEND: Literal["openai", "together", "azure"] | None = None
    FTBOT_TOGETHER_MODEL: str = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    # Azure's control plane, for `/finetune deploy` (credentials: azure-identity's own variables)
    AZURE_SUBSCRIPTION_ID: str | None = None
    AZURE_RESOURCE_GROUP: str | None = None
    AZURE_OPENAI_RESOURCE: str | None = None
    FTBOT_AZURE_MANAGEMENT_URL: str | None = None  # default https://management.azure.com
    # A TOML file of the team's own training rates (bot/core/prices.py), e.g. Azure's per region.
    FTBOT_PRICES: str | None = None
    # Evaluations (product §10): examples per evaluation, the spending cap, the pairwise grader
    # (an OpenAI model) and how many examples are asked at once.
    FTBOT_EVAL_EXAMPLES: int = Field(default=50, ge=1, le=1000)
    FTBOT_EVAL_MAX_USD: float = Field(default=1.00, ge=0)
    FTBOT_GRADER_MODEL: str = "gpt-4o-mini"
    FTBOT_EVAL_CONCURRENCY: int = Field(default=8, ge=1, le=64)

    @field_validator("FTBOT_ADMINS", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("FTBOT_DEFAULT_MODEL")
    @classmethod
    def _known_model(cls, value: str) -> str:
        try:
            return resolve_model(value).id
        except UnknownModelError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("FTBOT_PRICES")
    @classmethod
    def _price_file(cls, value: str | None) -> str | None:
        if value is not None:
            _read_prices(value)
        return value

    @field_validator("SLACK_API_URL")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("AZURE_OPENAI_ENDPOINT")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://my-resource.openai.azure.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _azure_complete(self) -> Settings:
        # Azure is configured by its key; the key alone cannot reach anything (the SDK needs the
        # resource's endpoint and an API version): one line names what is missing.
        if self.AZURE_OPENAI_API_KEY is not None:
            for name in ("AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION"):
                if getattr(self, name) is None:
                    raise ValueError(
                        f"{name} is not set (Azure OpenAI needs AZURE_OPENAI_ENDPOINT and "
                        "OPENAI_API_VERSION with AZURE_OPENAI_API_KEY)"
                    )
        return self

    @field_validator("DATABASE_URL")
    @classmethod
    def _psycopg(cls, value: str) -> str:
        # A plain postgresql:// URL means psycopg 3, as the contract says.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def max_file_bytes(self) -> int:
        """FTBOT_MAX_FILE_MB in bytes."""
        return int(self.FTBOT_MAX_FILE_MB * 1024 * 1024)

    @property
    def price_overrides(self) -> tuple[PriceOverride, ...]:
        """The rates of FTBOT_PRICES (none when unset)."""
        return () if self.FTBOT_PRICES is None else _read_prices(self.FTBOT_PRICES)

    @property
    def configured_backends(self) -> tuple[str, ...]:
        """The fine-tuning backends whose key is set, in the contract's order."""
        keys = {
            "openai": self.OPENAI_API_KEY,
            "together": self.TOGETHER_API_KEY,
            "azure": self.AZURE_OPENAI_API_KEY,
        }
        return tuple(name for name, key in keys.items() if key is not None)

    @property
    def chat_backend(self) -> str:
        """The backend whose chat completions serve FTBOT_CHAT_MODEL: the one whose catalogue
        holds it, Together for an `org/model` name, else OpenAI (its chat models, such as
        gpt-4.1-mini, are not in the fine-tuning catalogue). A GPT name both OpenAI and Azure
        train stays on OpenAI: Azure answers only through a deployment."""
        owner = backend_of_model(self.FTBOT_CHAT_MODEL)
        return "together" if owner == "together" else "openai"

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is configured."""
        return self.SLACK_APP_TOKEN is not None


_SECRETS = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "OPENAI_API_KEY",
    "TOGETHER_API_KEY",
    "AZURE_OPENAI_API_KEY",
}
SECRET_VARIABLES = frozenset(_SECRETS)
NO_BACKEND = (
    "no fine-tuning backend is configured: set OPENAI_API_KEY (OpenAI), "
    "TOGETHER_API_KEY (Together AI) or AZURE_OPENAI_API_KEY (Azure OpenAI, with "
    "AZURE_OPENAI_ENDPOINT and OPENAI_API_VERSION)"
)
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _read_prices(path: str) -> tuple[PriceOverride, ...]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise ValueError(f"cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    try:
        return parse_prices(text)
    except PriceFileError as exc:
        raise ValueError(str(exc)) from None


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value raises SettingsError with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        shown = first.get("input")
        if name not in _SECRETS and isinstance(shown, str | int) and repr(shown) not in message:
            message += f" (got {shown!r})"
        if not first["loc"]:  # a rule across variables: its message names them
            raise SettingsError(message) from None
        raise SettingsError(f"{name}: {message}") from None


def require(settings: Settings, *names: str) -> None:
    """Raise SettingsError for the first of `names` that is unset."""
    for name in names:
        if getattr(settings, name) is None:
            raise SettingsError(f"{name} is not set (required to run the bot)")


def check_serve(settings: Settings) -> None:
    """Raise SettingsError for the first setting `serve` cannot run with; touches nothing."""
    require(settings, "SLACK_BOT_TOKEN")
    if not settings.socket_mode and settings.SLACK_SIGNING_SECRET is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set (required in HTTP mode; "
            "or set SLACK_APP_TOKEN to use Socket Mode instead)"
        )
    if not settings.configured_backends:
        raise SettingsError(NO_BACKEND)
    url = settings.DATABASE_URL
    if not _URL_SCHEME.match(url):
        raise SettingsError(
            "DATABASE_URL: not a database URL (e.g. sqlite:///finetune-bot.db "
            "or postgresql://user@host/db)"
        )
    directory = _sqlite_directory(url)
    if directory is None:
        return
    if not os.path.isdir(directory):
        raise SettingsError(f"DATABASE_URL: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SettingsError(
            f"DATABASE_URL: cannot write in {directory} (the SQLite file and its lock go there)"
        )


def _sqlite_directory(url: str) -> str | None:
    """The absolute directory of an SQLite database file, or None (in memory, not SQLite)."""
    scheme, _, rest = url.partition("://")
    if scheme.split("+")[0] != "sqlite":
        return None
    path = rest.removeprefix("/").split("?")[0]
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    return os.path.dirname(os.path.abspath(path))
