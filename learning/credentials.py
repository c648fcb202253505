"""How tokens and keys look and how they are hashed (no Django models here)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

AGENT_KEY_PREFIX = "llk_"
USER_TOKEN_PREFIX = "llu_"  # noqa: S105 - a prefix, not a secret


def digest(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough: no brute force of the
    # token space is possible, and lookup by digest stays one indexed query.
    return hashlib.sha256(raw.encode()).hexdigest()


def new_agent_key() -> str:
    return AGENT_KEY_PREFIX + secrets.token_urlsafe(32)


def new_salt() -> str:
    return secrets.token_hex(16)


def derive_user_token(*, secret_key: str, schema_name: str, salt: str) -> str:
    # A key of its own for this purpose, derived from SECRET_KEY (as Django's salted_hmac).
    key = hashlib.sha256(b"learning-loop.user-token" + secret_key.encode()).digest()
    mac = hmac.new(key, f"{schema_name}:{salt}".encode(), hashlib.sha256)
    return USER_TOKEN_PREFIX + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


DISPLAY_PREFIX_LENGTH = 10


def display_prefix(raw: str) -> str:
    return raw[:DISPLAY_PREFIX_LENGTH]
