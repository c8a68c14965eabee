"""Encryption of secrets at rest (tenants' SecretKeys) with rotatable Fernet keys."""
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FERNET_KEYS])


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs):
    # Tests rotate FERNET_KEYS with override_settings; the cached MultiFernet must follow.
    if setting == "FERNET_KEYS":
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored secret cannot be decrypted with the configured FERNET_KEYS") from exc


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (used by `manage.py rotate_secrets`)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored secret cannot be decrypted with the configured FERNET_KEYS") from exc
