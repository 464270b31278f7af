"""API-key authentication of the query API: the one module to change to switch schemes.

Today a request is accepted with the configured `settings.api.bootstrap_api_key` in the
`X-API-Key` header. There is no shared hashed key table for readers yet (the gateway's
`platform.gateway_api_key` holds ingestion keys scoped to event families, peppered with a
gateway-only secret, and is not readable by the reader role); when one exists, add a
`KeyVerifier` that looks the key's hash up and pass it to `Authenticator`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from platform_common.config import Settings

API_KEY_HEADER = "X-API-Key"
MAX_KEY_LENGTH = 512

api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The query API key (the configured bootstrap key for now).",
)


class KeyVerifier(Protocol):
    def verify(self, presented: str) -> bool: ...


class StaticKeyVerifier:
    """Accepts a fixed set of keys, compared as SHA-256 digests in constant time."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = [hashlib.sha256(key.encode()).digest() for key in keys if key]

    def verify(self, presented: str) -> bool:
        digest = hashlib.sha256(presented.encode()).digest()
        return any(hmac.compare_digest(digest, known) for known in self._digests)


class Authenticator:
    def __init__(self, verifiers: Sequence[KeyVerifier]) -> None:
        self._verifiers = list(verifiers)

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        return cls([StaticKeyVerifier([settings.api.bootstrap_api_key.get_secret_value()])])

    def is_valid(self, presented: str | None) -> bool:
        if not presented or len(presented) > MAX_KEY_LENGTH:
            return False
        return any(verifier.verify(presented) for verifier in self._verifiers)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": API_KEY_HEADER})


async def require_api_key(request: Request, key: Annotated[str | None, Security(api_key_scheme)]) -> None:
    """Dependency of every data route: 401 without a key or with a key no verifier accepts."""
    if not key:
        raise _unauthorized(f"missing API key: send it in the {API_KEY_HEADER} header")
    authenticator: Authenticator = request.app.state.authenticator
    if not authenticator.is_valid(key):
        raise _unauthorized("invalid API key")


AUTHENTICATED = [Depends(require_api_key)]
