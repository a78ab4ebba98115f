"""One root exception for the crypto package, so callers can tell crypto failures from bugs."""

from __future__ import annotations


class CryptoError(Exception):
    """Root of every error this package raises on purpose."""


class KeyConfigError(CryptoError):
    """A key setting is missing or malformed (for example `FAPIAO_SM4_KEYS`)."""


class UnknownKeyError(CryptoError):
    """A ciphertext names a key id that this process does not hold (rotated out too early?)."""


class DecryptionError(CryptoError):
    """The envelope is malformed, or its tag does not verify: tampered with, or the wrong key."""


class SignatureError(CryptoError):
    """An SM2 signature or public key is malformed."""
