"""Azure's control plane (ARM) for deployments of fine-tuned models, on
`azure-mgmt-cognitiveservices` with `azure-identity`'s DefaultAzureCredential.

A fine-tuned Azure OpenAI model answers only through a deployment: `PUT …/accounts/{resource}/
deployments/{name}`, a long-running operation. The bot makes Developer-tier ones (per token,
deleted by Azure after 24 h; backends.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

from bot.core.message import Code, Message, Text, say
from bot.services.deployments import DeployError

# The Developer tier is in this preview API (backends.md: `developertier`, 2025-07-01-preview).
API_VERSION = "2025-07-01-preview"
SKU, CAPACITY = "developertier", 50
WAIT_LIMIT_S = 30 * 60.0
_REASON = 300


def _reason(error: HttpResponseError) -> str:
    detail = error.error.message if error.error is not None and error.error.message else None
    return (detail or error.message or str(error))[:_REASON]


class AzureControlPlane:
    """Create and look up deployments on one Azure OpenAI resource."""

    def __init__(
        self,
        *,
        client: CognitiveServicesManagementClient,
        resource_group: str,
        resource: str,
        poll_seconds: float = 10.0,
        wait_limit_s: float = WAIT_LIMIT_S,
    ) -> None:
        self._client = client
        self._group = resource_group
        self._resource = resource
        self._poll = poll_seconds
        self._limit = wait_limit_s

    @property
    def resource(self) -> str:
        """The Azure OpenAI resource the deployments go to."""
        return self._resource

    def create(self, *, name: str, model: str, on_status: Callable[[str], None]) -> None:
        """Create (or bring back) the Developer-tier deployment `name` of `model` and wait until
        Azure says it succeeded; `on_status` hears each new state of the operation."""
        body = Deployment(
            sku=Sku(name=SKU, capacity=CAPACITY),
            properties=DeploymentProperties(
                model=DeploymentModel(format="OpenAI", name=model, version="1")
            ),
        )
        deadline = time.monotonic() + self._limit
        with self._errors(name):
            poller = self._client.deployments.begin_create_or_update(
                self._group, self._resource, name, body, polling_interval=self._poll
            )
            last = ""
            while not poller.done():
                status = poller.status()
                if status != last:
                    last = status
                    on_status(status)
                if time.monotonic() > deadline:
                    raise DeployError(
                        say(
                            "Azure is still creating ",
                            Code(name),
                            f" after {self._limit / 60:.0f} minutes; check it in the Azure "
                            "portal and record it with ",
                            Code(f"/finetune deploy {model} name={name}"),
                            " once it is ready.",
                        )
                    )
                poller.wait(self._poll)
            poller.result()

    def exists(self, name: str) -> bool:
        """Whether the deployment still exists and is not failed (Azure deletes Developer-tier
        ones after 24 h)."""
        with self._errors(name):
            try:
                found = self._client.deployments.get(self._group, self._resource, name)
            except ResourceNotFoundError:
                return False
        state = found.properties.provisioning_state if found.properties else None
        return str(state or "").lower() not in ("failed", "deleting", "canceled")

    def _errors(self, name: str) -> _Errors:
        return _Errors(name=name, resource=self._resource, group=self._group)


class _Errors:
    """Turns the SDKs' exceptions into one line naming what to fix."""

    def __init__(self, *, name: str, resource: str, group: str) -> None:
        self._name, self._resource, self._group = name, resource, group

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        if error is None or isinstance(error, DeployError):
            return
        if isinstance(error, ClientAuthenticationError) and error.status_code in (None, 401):
            raise DeployError(
                say(
                    "No Azure credential worked (DefaultAzureCredential: a service principal's "
                    "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, a managed identity, "
                    "or `az login`): ",
                    Text(str(error).splitlines()[0][:_REASON] if str(error) else "no token"),
                )
            ) from None
        if isinstance(error, HttpResponseError):
            raise DeployError(self._refusal(error)) from None
        if isinstance(error, ServiceRequestError):
            raise DeployError(
                say("I couldn't reach Azure's control plane: ", Text(str(error)[:_REASON]))
            ) from None

    def _refusal(self, error: HttpResponseError) -> Message:
        status = error.status_code
        code = (error.error.code if error.error is not None else None) or ""
        reason = Text(_reason(error))
        if status == 403:
            return say(
                "Azure refused (403): the bot's Azure identity has no role that may create "
                "deployments on the resource ",
                Code(self._resource),
                " (give it Cognitive Services Contributor there).",
            )
        if status == 404:
            return say(
                "Azure doesn't know the resource ",
                Code(self._resource),
                " in the resource group ",
                Code(self._group),
                " (check AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and AZURE_OPENAI_RESOURCE).",
            )
        if "quota" in code.lower() or "quota" in _reason(error).lower() or status == 429:
            return say(
                "Azure has no quota left for another Developer-tier deployment on ",
                Code(self._resource),
                ": ",
                reason,
            )
        if status == 409:
            return say(
                "Azure refused (409, a conflict: another operation on ",
                Code(self._name),
                " or the resource is running, or the name is taken by another model): ",
                reason,
            )
        return say(
            "Azure could not create the deployment ",
            Code(self._name),
            f" ({status or 'failed'}): ",
            reason,
        )


def control_plane(
    *,
    subscription_id: str,
    resource_group: str,
    resource: str,
    management_url: str | None = None,
    credential: Any = None,
) -> AzureControlPlane:
    """The control plane of one resource, with DefaultAzureCredential unless one is given;
    `management_url` replaces https://management.azure.com (other clouds; tests)."""
    if credential is None:
        from azure.identity import DefaultAzureCredential

        # Instance discovery only matters for an authority host Microsoft does not list (Azure
        # Stack, a private cloud); there it would ask login.microsoftonline.com and fail.
        credential = DefaultAzureCredential(disable_instance_discovery=True)
    options: dict[str, Any] = {"api_version": API_VERSION}
    if management_url:
        options["base_url"] = management_url
        options["credential_scopes"] = [management_url.rstrip("/") + "/.default"]
    client = CognitiveServicesManagementClient(credential, subscription_id, **options)
    return AzureControlPlane(client=client, resource_group=resource_group, resource=resource)
