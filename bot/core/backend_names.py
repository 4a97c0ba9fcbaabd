"""What users read for each fine-tuning backend (the contract names are in services.backends)."""

from __future__ import annotations

BACKEND_NAMES = {"openai": "OpenAI", "together": "Together AI", "azure": "Azure OpenAI"}


def backend_name(name: str) -> str:
    """The display name of a backend (`together` -> `Together AI`); an unknown name as it is."""
    return BACKEND_NAMES.get(name, name)
