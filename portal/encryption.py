"""Fernet encryption under CREDENTIALS_ENCRYPTION_KEY, for what must be read back: the copies behind
Show, and the seeds of two-factor authenticators. The first key encrypts; every key decrypts."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys):
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(raw):
    return _fernet(tuple(settings.CREDENTIALS_ENCRYPTION_KEY)).encrypt(raw.encode()).decode()


def decrypt(token):
    return _fernet(tuple(settings.CREDENTIALS_ENCRYPTION_KEY)).decrypt(token.encode()).decode()


def is_under_first_key(token):
    """Whether an encrypted copy is already under the key that encrypts now (the first one)."""
    try:
        Fernet(settings.CREDENTIALS_ENCRYPTION_KEY[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token):
    """The same value encrypted under the first key; InvalidToken if no configured key opens it."""
    return _fernet(tuple(settings.CREDENTIALS_ENCRYPTION_KEY)).rotate(token.encode()).decode()
