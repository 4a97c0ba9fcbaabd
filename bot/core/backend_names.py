"""Each fine-tuning backend's names, defined once: the contract name (`openai`, `together`,
`azure`, product §9), the name users read, the variable that configures it, and which backend
is the default. Pure: the CLI imports it without the service layer (SQLAlchemy)."""

from __future__ import annotations

import datetime as dt

OPENAI, TOGETHER, AZURE = "openai", "together", "azure"
NAMES = (OPENAI, TOGETHER, AZURE)  # the contract's order
OPENAI_CLOSES = dt.date(2027, 1, 6)  # OpenAI takes no new fine-tuning jobs from this day

# The one spelling users read everywhere (messages, blocks, forms, help, errors).
BACKEND_NAMES = {OPENAI: "OpenAI", TOGETHER: "Together AI", AZURE: "Azure OpenAI"}
# The environment variable holding each backend's key (its SDK's own variable).
KEY_VARIABLES = {
    OPENAI: "OPENAI_API_KEY",
    TOGETHER: "TOGETHER_API_KEY",
    AZURE: "AZURE_OPENAI_API_KEY",
}
# A contract or display name (as a ServiceError's `backend` carries it), in any case, and the
# short "Together" older errors used -> the contract name.
_BY_ANY_NAME = {
    **{name: name for name in BACKEND_NAMES},
    **{title.lower(): name for name, title in BACKEND_NAMES.items()},
    "together": TOGETHER,
    "azure": AZURE,
}


def contract_name(name: str) -> str | None:
    """The contract name for a contract or display name (`Together AI` -> `together`), else None."""
    return _BY_ANY_NAME.get(name.strip().lower())


def backend_name(name: str) -> str:
    """The display name of a backend given by its contract or display name (`together` ->
    `Together AI`); an unknown name as it is."""
    found = contract_name(name)
    return BACKEND_NAMES[found] if found else name


def key_variable(name: str) -> str | None:
    """The variable that configures a backend (contract or display name), if it is known."""
    found = contract_name(name)
    return KEY_VARIABLES[found] if found else None


def default_backend(configured: tuple[str, ...], *, chosen: str | None, today: dt.date) -> str:
    """FTBOT_DEFAULT_BACKEND when set; else OpenAI while it takes new jobs (and is configured),
    else the first configured of Together and Azure; OpenAI when nothing else is there."""
    if chosen:
        return chosen
    if OPENAI in configured and today < OPENAI_CLOSES:
        return OPENAI
    for name in (TOGETHER, AZURE):
        if name in configured:
            return name
    return OPENAI
