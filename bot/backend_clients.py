"""The provider clients the bot is built with: one per configured backend, and Azure's control
plane for `/finetune deploy` (each SDK loads only when its backend is configured)."""

from __future__ import annotations

from bot.config import Settings
from bot.services.backends import Backends
from bot.services.deployments import ControlPlane
from bot.services.ports import FineTuningBackend, NotConfigured


def openai_gateway(settings: Settings) -> FineTuningBackend:
    """The OpenAI backend (NotConfigured without OPENAI_API_KEY); OPENAI_BASE_URL is honoured."""
    if settings.OPENAI_API_KEY is None:
        return NotConfigured("openai")
    from openai import OpenAI

    from bot.openai_gateway import OpenAIGateway

    client = OpenAI(
        api_key=settings.OPENAI_API_KEY.get_secret_value(),
        base_url=settings.OPENAI_BASE_URL,
        max_retries=2,
        timeout=120.0,
    )
    return OpenAIGateway(client)


def azure_backend(settings: Settings) -> FineTuningBackend:
    """The Azure OpenAI backend on `openai.AzureOpenAI` (the SDK's own variables, product §9)."""
    if settings.AZURE_OPENAI_API_KEY is None or settings.AZURE_OPENAI_ENDPOINT is None:
        return NotConfigured("azure")  # the settings refuse a key without an endpoint
    from openai import AzureOpenAI

    from bot.backends.azure import AzureBackend

    client = AzureOpenAI(
        api_key=settings.AZURE_OPENAI_API_KEY.get_secret_value(),
        azure_endpoint=settings.AZURE_OPENAI_ENDPOINT,
        api_version=settings.OPENAI_API_VERSION,
        max_retries=2,
        timeout=120.0,
    )
    return AzureBackend(client)


def backends(settings: Settings) -> Backends:
    """Every backend whose key is set, keyed by its contract name."""
    found: dict[str, FineTuningBackend] = {"openai": openai_gateway(settings)}
    if settings.TOGETHER_API_KEY is not None:
        from together import Together

        from bot.backends.together import TogetherBackend

        client = Together(
            api_key=settings.TOGETHER_API_KEY.get_secret_value(),
            base_url=settings.TOGETHER_BASE_URL,
            max_retries=2,
            timeout=120.0,
        )
        found["together"] = TogetherBackend(client)
    if settings.AZURE_OPENAI_API_KEY is not None:
        found["azure"] = azure_backend(settings)
    return Backends(found, chosen_default=settings.FTBOT_DEFAULT_BACKEND)


def azure_control(settings: Settings) -> ControlPlane | None:
    """Azure's control plane for `/finetune deploy`, when its subscription, resource group and
    resource are all set (credentials: azure-identity's DefaultAzureCredential)."""
    parts = (
        settings.AZURE_SUBSCRIPTION_ID,
        settings.AZURE_RESOURCE_GROUP,
        settings.AZURE_OPENAI_RESOURCE,
    )
    if not all(parts):
        return None
    from bot.backends.azure_control import control_plane

    return control_plane(
        subscription_id=settings.AZURE_SUBSCRIPTION_ID or "",
        resource_group=settings.AZURE_RESOURCE_GROUP or "",
        resource=settings.AZURE_OPENAI_RESOURCE or "",
        management_url=settings.FTBOT_AZURE_MANAGEMENT_URL,
    )
