"""Encryption at rest for sensitive fields (allergies, contraindications, medical notes).

Keys come from settings.FIELD_ENCRYPTION_KEYS (Fernet keys, newest first; MultiFernet): the
first encrypts, all decrypt, so a key can be rotated in without downtime and
`manage.py rotate_encryption_keys` then re-encrypts every row with the newest. A value that no
key can decrypt raises DecryptionError: the caller never gets ciphertext as if it were text.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"  # marks ciphertext, so an empty value and a legacy plain value are told apart


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from exc


def fernet() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    if value in (None, ""):
        return value
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(value: str | None) -> str | None:
    if value in (None, ""):
        return value
    if not value.startswith(PREFIX):
        raise DecryptionError("Stored value is not encrypted with a field key.")
    try:
        return fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("No configured FIELD_ENCRYPTION_KEYS key decrypts this value.") from exc


def rotate(value: str | None) -> str | None:
    """Re-encrypt a stored value with the newest key (no-op for empty values)."""
    if value in (None, ""):
        return value
    if not value.startswith(PREFIX):
        raise DecryptionError("Stored value is not encrypted with a field key.")
    return PREFIX + fernet().rotate(value[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A TextField stored as Fernet ciphertext. Not searchable or orderable in SQL, by design."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value)
