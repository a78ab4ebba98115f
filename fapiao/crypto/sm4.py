"""SM4 (GB/T 32907) in GCM mode through OpenSSL (`cryptography`), with key ids for rotation.

Envelope: `v1:<key_id>:<nonce>:<ciphertext+tag>`, nonce and ciphertext in standard base64. New data is
encrypted under the active key; any key still held decrypts, so rotation is: add the new key, make it
active, re-encrypt at leisure, then drop the old one. The version and key id are bound into the
authenticated data, and callers add a context (a row id, a field name) so a ciphertext cannot be moved
to another row unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fapiao.crypto.exceptions import DecryptionError, KeyConfigError, UnknownKeyError

VERSION = "v1"
KEY_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    """The bare SM4 block function (one 16-byte block): for the GB/T test vectors, not for data."""
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def parse_keys(spec: str) -> dict[str, bytes]:
    """`k1:<32 hex>,k2:<32 hex>` -> {key id: 16-byte key}."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, hex_key = item.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError(f"SM4 key {item[:8]!r}…: expected <id>:<32 hex digits>, id [A-Za-z0-9_-]")
        try:
            key = bytes.fromhex(hex_key)
        except ValueError as exc:
            raise KeyConfigError(f"SM4 key {key_id!r} is not hex") from exc
        if len(key) != KEY_BYTES:
            raise KeyConfigError(f"SM4 key {key_id!r} must be 16 bytes (32 hex digits), not {len(key)}")
        if key_id in keys:
            raise KeyConfigError(f"SM4 key id {key_id!r} given twice")
        keys[key_id] = key
    return keys


class Sm4Keyring:
    """The SM4 keys this process holds, and the one that encrypts new data."""

    def __init__(self, keys: Mapping[str, bytes], active: str) -> None:
        if active not in keys:
            raise KeyConfigError(f"active SM4 key {active!r} is not among the keys {sorted(keys)}")
        for key_id, key in keys.items():
            if not _KEY_ID.match(key_id) or len(key) != KEY_BYTES:
                raise KeyConfigError(f"SM4 key {key_id!r}: bad id or length")
        self._keys = dict(keys)
        self.active = active

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> str:
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(algorithms.SM4(self._keys[self.active]), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(_aad(self.active, context))
        sealed = encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
        return ":".join((VERSION, self.active, _b64(nonce), _b64(sealed)))

    def decrypt(self, envelope: str, context: bytes = b"") -> bytes:
        key_id, nonce, sealed = _split(envelope)
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyError(f"no SM4 key {key_id!r} (held: {', '.join(self.key_ids)})")
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, sealed[-TAG_BYTES:])).decryptor()
        decryptor.authenticate_additional_data(_aad(key_id, context))
        try:
            return decryptor.update(sealed[:-TAG_BYTES]) + decryptor.finalize()
        except InvalidTag as exc:
            raise DecryptionError("SM4-GCM tag mismatch: tampered, wrong key or wrong context") from exc

    def key_id_of(self, envelope: str) -> str:
        """Which key encrypted this envelope (to find data still under a key being retired)."""
        return _split(envelope)[0]

    def encrypt_text(self, text: str, context: str = "") -> str:
        return self.encrypt(text.encode("utf-8"), context.encode("utf-8"))

    def decrypt_text(self, envelope: str, context: str = "") -> str:
        return self.decrypt(envelope, context.encode("utf-8")).decode("utf-8")


def _aad(key_id: str, context: bytes) -> bytes:
    return f"{VERSION}:{key_id}:".encode("ascii") + context


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _split(envelope: str) -> tuple[str, bytes, bytes]:
    parts = envelope.split(":")
    if len(parts) != 4 or parts[0] != VERSION:
        raise DecryptionError("not an SM4 envelope (expected v1:<key_id>:<nonce>:<ciphertext>)")
    try:
        nonce = base64.b64decode(parts[2], validate=True)
        sealed = base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("SM4 envelope: bad base64") from exc
    if len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
        raise DecryptionError("SM4 envelope: bad nonce or ciphertext length")
    return parts[1], nonce, sealed
