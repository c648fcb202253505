"""Secrets the tenant gives us (the Slack bot token, a signing secret), kept encrypted.

Fernet (cryptography) with a key derived from SECRET_KEY by HKDF; values encrypted under
a key of SECRET_KEY_FALLBACKS still open, so rotating SECRET_KEY the way Django documents
keeps Slack connected. A stored value is never shown back: pages and commands say only
whether one is set."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"learning-loop prompts.vault"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def seal(value: str) -> str:
    return _keys().encrypt(value.encode()).decode() if value else ""


def unseal(sealed: str) -> str:
    """The value; "" when none is stored or it was sealed under a key we no longer have."""
    if not sealed:
        return ""
    try:
        return _keys().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return ""
