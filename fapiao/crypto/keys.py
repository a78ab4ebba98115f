"""The process's 国密 keys, built once at the entry point from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from fapiao.crypto import sm2
from fapiao.crypto.exceptions import KeyConfigError
from fapiao.crypto.sm3 import hmac_sm3
from fapiao.crypto.sm4 import Sm4Keyring, parse_keys
from fapiao.settings import Settings

DEV_KEY_ID = "dev"


@dataclass(frozen=True)
class CryptoKeys:
    sm4: Sm4Keyring
    hmac_key: bytes = field(repr=False)
    keys_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> CryptoKeys:
        """Keys from `FAPIAO_SM4_KEYS`/`FAPIAO_SM4_ACTIVE_KEY`/`FAPIAO_HMAC_KEY`. When unset (never in
        production: the settings refuse it), they derive from the secret key, so development needs none."""
        secret = settings.secret_key.get_secret_value().encode("utf-8")
        spec = settings.sm4_keys.get_secret_value()
        if spec:
            keys = parse_keys(spec)
            active = settings.sm4_active_key or (next(iter(keys)) if len(keys) == 1 else "")
            if not active:
                raise KeyConfigError("several SM4 keys: FAPIAO_SM4_ACTIVE_KEY must name the active one")
        else:
            keys, active = {DEV_KEY_ID: hmac_sm3(secret, b"fapiao sm4 development key")[:16]}, DEV_KEY_ID
        hmac_hex = settings.hmac_key.get_secret_value()
        if hmac_hex:
            try:
                hmac_key = bytes.fromhex(hmac_hex)
            except ValueError as exc:
                raise KeyConfigError("FAPIAO_HMAC_KEY must be hex") from exc
            if len(hmac_key) < 16:
                raise KeyConfigError("FAPIAO_HMAC_KEY must be at least 16 bytes (32 hex digits)")
        else:
            hmac_key = hmac_sm3(secret, b"fapiao hmac development key")
        return cls(sm4=Sm4Keyring(keys, active), hmac_key=hmac_key, keys_dir=settings.keys_dir)

    @cached_property
    def receipt_keys(self) -> sm2.Sm2KeyPair:
        """The SM2 pair that signs receipts: read from `keys_dir`, generated there on first use."""
        return sm2.load_or_create(self.keys_dir)
