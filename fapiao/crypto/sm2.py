"""SM2 signatures (GB/T 32918) with gmssl, keys in PEM files that OpenSSL reads too.

Two gmssl pitfalls are handled here, not left to callers:
- `sign_with_sm3` draws its nonce from `random.choice` (not a CSPRNG; a predictable nonce gives away
  the private key): we always pass a nonce from `secrets`.
- `CryptSM2.__init__` does `public_key.lstrip("04")`, which also eats leading 0/4 digits of x: we set
  the 128-hex key after construction.
Signatures are `r || s` as 128 hex digits, with the default user id 1234567812345678.
"""

from __future__ import annotations

import os
import re
import secrets
import textwrap
from base64 import b64decode, b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from Cryptodome.Util.asn1 import DerBitString, DerInteger, DerObjectId, DerOctetString, DerSequence
from gmssl import sm2 as gm_sm2

from fapiao.crypto import sm2_reference
from fapiao.crypto.exceptions import SignatureError
from fapiao.crypto.sm3 import sm3_hex

ALGORITHM = "SM2-with-SM3"
USER_ID = sm2_reference.DEFAULT_ID.decode()
_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_SM2_CURVE = "1.2.156.10197.1.301"
_HEX = re.compile(r"^[0-9a-fA-F]+$")
PRIVATE_FILE = "receipt-sm2.key.pem"
PUBLIC_FILE = "receipt-sm2.pub.pem"

PublicKey = tuple[int, int]


@dataclass(frozen=True)
class Sm2KeyPair:
    private: int
    public: PublicKey

    @classmethod
    def generate(cls) -> Sm2KeyPair:
        private = secrets.randbelow(sm2_reference.N - 2) + 1  # d in [1, n-2]
        return cls(private, sm2_reference.public_key_of(private))


def public_hex(public: PublicKey) -> str:
    """128 hex digits x || y (no 04 prefix)."""
    return f"{public[0]:064x}{public[1]:064x}"


def fingerprint(public: PublicKey) -> str:
    """SM3 of the uncompressed point, first 16 hex digits: names a key in receipts and logs."""
    return sm3_hex(b"\x04" + bytes.fromhex(public_hex(public)))[:16]


def _crypt(private: int | None, public: PublicKey) -> gm_sm2.CryptSM2:
    crypt = gm_sm2.CryptSM2(private_key=f"{private:064x}" if private else "", public_key="")
    crypt.public_key = public_hex(public)
    return crypt


def sign(pair: Sm2KeyPair, message: bytes) -> str:
    crypt = _crypt(pair.private, pair.public)
    while True:
        nonce = f"{secrets.randbelow(sm2_reference.N - 1) + 1:064x}"
        signature = crypt.sign_with_sm3(message, nonce)
        if signature:  # None when the nonce gives r = 0, r + k = n or s = 0: draw another
            return str(signature)


def verify(public: PublicKey, message: bytes, signature: str) -> bool:
    if len(signature) != 128 or not _HEX.match(signature) or not sm2_reference.on_curve(public):
        return False
    r, s = int(signature[:64], 16), int(signature[64:], 16)
    if not (1 <= r < sm2_reference.N and 1 <= s < sm2_reference.N):
        return False
    return bool(_crypt(None, public).verify_with_sm3(signature, message))


def public_key_pem(public: PublicKey) -> str:
    algorithm = DerSequence([DerObjectId(_EC_PUBLIC_KEY), DerObjectId(_SM2_CURVE)])
    point = bytes.fromhex("04" + public_hex(public))
    return _pem("PUBLIC KEY", DerSequence([algorithm, DerBitString(point)]).encode())


def private_key_pem(pair: Sm2KeyPair) -> str:
    """PKCS#8, as `openssl genpkey -algorithm SM2` writes it."""
    point = bytes.fromhex("04" + public_hex(pair.public))
    ec_key = DerSequence(
        [DerInteger(1), DerOctetString(pair.private.to_bytes(32, "big")), DerBitString(point, explicit=1)]
    )
    algorithm = DerSequence([DerObjectId(_EC_PUBLIC_KEY), DerObjectId(_SM2_CURVE)])
    body = DerSequence([DerInteger(0), algorithm, DerOctetString(ec_key.encode())])
    return _pem("PRIVATE KEY", body.encode())


def load_public_key(text: str) -> PublicKey:
    """From PEM (SubjectPublicKeyInfo) or hex (128 digits, or 130 with the 04 prefix)."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            spki = DerSequence().decode(_unpem(text))
            point = DerBitString().decode(cast(bytes, spki[1])).value
        elif _HEX.match(text) and len(text) in (128, 130):
            point = bytes.fromhex(text if len(text) == 130 else "04" + text)
        else:
            raise SignatureError("public key: expected a PEM block or 128/130 hex digits")
    except (ValueError, IndexError, TypeError) as exc:
        raise SignatureError(f"public key: unreadable ({exc})") from exc
    if len(point) != 65 or point[0] != 4:
        raise SignatureError("public key: expected an uncompressed SM2 point")
    public = (int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big"))
    if not sm2_reference.on_curve(public):
        raise SignatureError("public key: the point is not on the SM2 curve")
    return public


def load_private_key(text: str) -> Sm2KeyPair:
    try:
        pkcs8 = DerSequence().decode(_unpem(text))
        ec_key = DerSequence().decode(DerOctetString().decode(cast(bytes, pkcs8[2])).payload)
        private = int.from_bytes(DerOctetString().decode(cast(bytes, ec_key[1])).payload, "big")
    except (ValueError, IndexError, TypeError) as exc:
        raise SignatureError(f"private key: unreadable ({exc})") from exc
    if not 1 <= private < sm2_reference.N - 1:
        raise SignatureError("private key: out of range")
    return Sm2KeyPair(private, sm2_reference.public_key_of(private))


def load_or_create(directory: Path) -> Sm2KeyPair:
    """The receipt key pair under `directory`, generated on first use (private file mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / PRIVATE_FILE, directory / PUBLIC_FILE
    pair = Sm2KeyPair.generate()
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made earlier, or by a concurrent process: use that one
        pair = load_private_key(private_path.read_text())
    else:
        with os.fdopen(fd, "w") as out:
            out.write(private_key_pem(pair))
    if not public_path.exists() or load_public_key(public_path.read_text()) != pair.public:
        public_path.write_text(public_key_pem(pair.public))
    return pair


def _pem(label: str, der: bytes) -> str:
    body = "\n".join(textwrap.wrap(b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def _unpem(text: str) -> bytes:
    lines = [line for line in text.strip().splitlines() if line and not line.startswith("-----")]
    return b64decode("".join(lines), validate=True)
