"""A fake of Azure's control plane (ARM deployments of Cognitive Services accounts) and of the
Microsoft Entra token endpoint, over https on 127.0.0.1 with a throwaway self-signed certificate.

Both SDKs insist on https: azure-identity refuses an authority that is not TLS protected, and
azure-core's bearer-token policy refuses to send a token over http. Tests point the clients at
`ca_file` (REQUESTS_CA_BUNDLE) and at `origin` (AZURE_AUTHORITY_HOST, the management client's
base_url). Paths and bodies follow the SDKs' source: MSAL's tenant discovery
(`/{tenant}/v2.0/.well-known/openid-configuration`) and client-credentials token request, and
`azure-mgmt-cognitiveservices`' `deployments.begin_create_or_update` (PUT, then the
`Azure-AsyncOperation` URL polled until it says Succeeded, then a GET of the deployment).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import json
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fakes._http import FakeServer, Request, Response

TENANT, CLIENT, SECRET = "00000000-0000-0000-0000-0000000000aa", "ftbot-client", "s3cret"
SUBSCRIPTION, GROUP, RESOURCE = "sub-123", "rg-bots", "acme-openai"
_DEPLOYMENT = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/"
    r"Microsoft\.CognitiveServices/accounts/(?P<account>[^/]+)/deployments/(?P<name>[^/]+)"
)
_OPERATION = re.compile(r"/subscriptions/[^/]+/providers/Microsoft\.CognitiveServices/"
                        r"locations/[^/]+/operationResults/(?P<op>[^/]+)")  # fmt: skip


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh certificate for 127.0.0.1, and the file to trust it by."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "azure-fake.pem", directory / "azure-fake.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@dataclass
class Operation:
    """One long-running creation: InProgress for `polls` status reads, then its outcome."""

    deployment: str
    polls: int
    failure: dict[str, str] | None = None
    seen: int = 0


@dataclass
class State:
    """What the fake holds (guarded by the server's lock)."""

    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)


class FakeAzureControl(FakeServer):
    """Entra's token endpoint and ARM's deployment API on one https origin."""

    def __init__(self, directory: Path, *, polls: int = 3) -> None:
        super().__init__()
        self.ssl_context, self.ca_file = self_signed(directory)
        self.state = State()
        self.polls = polls  # status reads an operation stays InProgress
        self.refuse: tuple[int, str, str] | None = None  # (status, code, message) for the PUT
        self.operation_failure: dict[str, str] | None = None
        self._ids = itertools.count(1)

    # -- what tests look at ---------------------------------------------------------------------
    def calls(self, method: str, pattern: str) -> list[Request]:
        """The requests with this method whose path matches `pattern` (a regex)."""
        with self.lock:
            return [
                r
                for r in self.state.requests
                if r.method == method and re.fullmatch(pattern, r.path)
            ]

    def puts(self) -> list[Request]:
        """Every deployment PUT."""
        return self.calls("PUT", _DEPLOYMENT.pattern)

    def expire(self, name: str) -> None:
        """Azure deletes a Developer-tier deployment after 24 h."""
        with self.lock:
            self.state.deployments.pop(name, None)

    def env(self) -> dict[str, str]:
        """The environment DefaultAzureCredential reads (its EnvironmentCredential) and the CA
        bundle the SDKs' requests transport trusts."""
        return {
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": CLIENT,
            "AZURE_CLIENT_SECRET": SECRET,
            "AZURE_AUTHORITY_HOST": self.origin,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
        }

    def settings(self) -> dict[str, str]:
        """The bot's settings for this control plane."""
        return {
            "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
            "AZURE_RESOURCE_GROUP": GROUP,
            "AZURE_OPENAI_RESOURCE": RESOURCE,
            "FTBOT_AZURE_MANAGEMENT_URL": self.origin,
        }

    # -- the server -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        with self.lock:
            self.state.requests.append(request)
            path = request.path
            if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
                return self._openid()
            if path == f"/{TENANT}/oauth2/v2.0/token" and request.method == "POST":
                return self._token(request)
            if not self._authorised(request):
                return _error(401, "AuthenticationFailed", "Missing or invalid bearer token.")
            if "api-version" not in request.query:
                return _error(400, "MissingApiVersionParameter", "api-version is required.")
            found = _DEPLOYMENT.fullmatch(path)
            if found:
                if (found["sub"], found["group"], found["account"]) != (
                    SUBSCRIPTION,
                    GROUP,
                    RESOURCE,
                ):
                    return _error(404, "ResourceNotFound", "The Resource was not found.")
                if request.method == "PUT":
                    return self._put(found["name"], request)
                if request.method == "GET":
                    return self._get(found["name"])
            operation = _OPERATION.fullmatch(path)
            if operation and request.method == "GET":
                return self._operation(operation["op"])
            return _error(404, "NotFound", f"no route {request.method} {path}")

    def _openid(self) -> Response:
        base = f"{self.origin}/{TENANT}"
        return Response.json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "tenant_region_scope": "EU",
            }
        )

    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode()))
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT
            or form.get("client_secret") != SECRET
        ):
            return Response.json(
                {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}, 401
            )
        token = f"arm-token-{next(self._ids)}"
        self.state.tokens.add(token)
        return Response.json(
            {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
             "access_token": token}
        )  # fmt: skip

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        return scheme == "Bearer" and token in self.state.tokens

    def _put(self, name: str, request: Request) -> Response:
        if self.refuse is not None:
            status, code, message = self.refuse
            return _error(status, code, message)
        body = json.loads(request.body)
        deployment = {
            "id": request.path,
            "name": name,
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "sku": body.get("sku"),
            "properties": {**body.get("properties", {}), "provisioningState": "Creating"},
        }
        self.state.deployments[name] = deployment
        op = f"op-{next(self._ids)}"
        self.state.operations[op] = Operation(name, self.polls, self.operation_failure)
        location = (
            f"{self.origin}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CognitiveServices/"
            f"locations/eastus/operationResults/{op}?api-version={request.query['api-version']}"
        )
        return Response.json(
            deployment, 201, {"Azure-AsyncOperation": location, "Retry-After": "0.05"}
        )

    def _operation(self, op: str) -> Response:
        found = self.state.operations.get(op)
        if found is None:
            return _error(404, "NotFound", "no such operation")
        found.seen += 1
        headers = {"Retry-After": "0.05"}
        if found.seen <= found.polls:
            return Response.json({"status": "InProgress"}, headers=headers)
        deployment = self.state.deployments.get(found.deployment)
        if found.failure is not None:
            if deployment is not None:
                deployment["properties"]["provisioningState"] = "Failed"
            return Response.json({"status": "Failed", "error": found.failure}, headers=headers)
        if deployment is not None:
            deployment["properties"]["provisioningState"] = "Succeeded"
        return Response.json({"status": "Succeeded"}, headers=headers)

    def _get(self, name: str) -> Response:
        found = self.state.deployments.get(name)
        if found is None:
            return _error(404, "DeploymentNotFound", f"Deployment {name} not found.")
        return Response.json(found)


def _error(status: int, code: str, message: str) -> Response:
    return Response.json({"error": {"code": code, "message": message}}, status)
