"""Bearer authentication for agents (API keys) and humans (personal tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from learning import lockout, selectors
from learning.models import AgentKey, ApiToken, User


@dataclass(frozen=True)
class AgentPrincipal:
    """`request.user` for a call made with an agent key: the agent is not a human user."""

    key_id: int
    name: str

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    role = "agent"
    pk = None
    id = None

    @property
    def username(self) -> str:
        return f"agent:{self.name}"

    def __str__(self) -> str:
        return self.username


class BearerAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User | AgentPrincipal, object] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as `Authorization: Bearer <token>`.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        # The credential is checked first: wrong tokens from an address never lock out a
        # valid key sent from there (learning.lockout).
        credential = selectors.credential_for_bearer(raw=raw) if raw else None
        if isinstance(credential, AgentKey):
            return AgentPrincipal(key_id=credential.pk, name=credential.name), credential
        if isinstance(credential, ApiToken):
            if not credential.user.is_active:
                raise AuthenticationFailed("This user is inactive.")
            return credential.user, credential
        if lockout.wrong_token(request._request):
            raise Throttled(wait=60, detail="Too many requests with a wrong token; wait.")
        raise AuthenticationFailed("Invalid or revoked token.")

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "learning.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An agent key (llk_…) or a personal API token (llu_…).",
        }
