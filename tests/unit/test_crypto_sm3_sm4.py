"""SM3 and SM4 against the GB/T vectors of DOMAIN.md §7, OpenSSL cross-checked with gmssl."""

from __future__ import annotations

import hmac
import os

import pytest
from gmssl import sm3 as gm_sm3
from gmssl import sm4 as gm_sm4

from fapiao.crypto.exceptions import DecryptionError, KeyConfigError, UnknownKeyError
from fapiao.crypto.sm3 import hmac_sm3, integrity_tag, pseudonym, sm3_hex, tag_matches
from fapiao.crypto.sm4 import Sm4Keyring, ecb_encrypt_block, parse_keys

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def _gmssl_block(key: bytes, block: bytes) -> bytes:
    crypt = gm_sm4.CryptSM4()
    crypt.set_key(key, gm_sm4.SM4_ENCRYPT)
    return bytes(crypt.one_round(crypt.sk, list(block)))


def test_sm3_abc_vector_in_openssl_and_gmssl() -> None:
    want = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abc") == want
    assert gm_sm3.sm3_hash(list(b"abc")) == want


@pytest.mark.parametrize("size", [0, 1, 55, 56, 64, 65, 1000])
def test_sm3_openssl_and_gmssl_agree(size: int) -> None:
    data = os.urandom(size)
    assert sm3_hex(data) == gm_sm3.sm3_hash(list(data))


def test_hmac_sm3_matches_the_rfc2104_construction_over_gmssl() -> None:
    key, data = os.urandom(32), b"911101056317066918"
    inner = gm_sm3.sm3_hash(list(bytes(b ^ 0x36 for b in key.ljust(64, b"\0")) + data))
    outer = gm_sm3.sm3_hash(list(bytes(b ^ 0x5C for b in key.ljust(64, b"\0")) + bytes.fromhex(inner)))
    assert hmac_sm3(key, data).hex() == outer


def test_pseudonyms_are_stable_keyed_and_normalised() -> None:
    k1, k2 = b"k" * 32, b"j" * 32
    assert pseudonym("91110108MA01ABCD1X", k1) == pseudonym(" 91110108ma01abcd1x ", k1)
    assert pseudonym("91110108MA01ABCD1X", k1) != pseudonym("91110108MA01ABCD1X", k2)
    assert pseudonym("91110108MA01ABCD1X", k1) != pseudonym("91110108MA01ABCD2X", k1)
    assert len(pseudonym("x", k1)) == 64


def test_integrity_tag_detects_a_change() -> None:
    key = os.urandom(32)
    tag = integrity_tag(key, b'{"verdict":"consistent"}')
    assert tag_matches(key, b'{"verdict":"consistent"}', tag)
    assert not tag_matches(key, b'{"verdict":"inconsistent"}', tag)


def test_integrity_tag_from_the_kept_key_state_is_the_plain_hmac() -> None:
    """integrity_tag copies a per-key HMAC state: the same tag as HMAC-SM3 over prefix + payload."""
    for key in (b"k" * 32, b"", b"x" * 100, b"k" * 32):
        for payload in (b"", b"{}", "结果".encode() * 2000):
            want = hmac.new(key, b"integrity\x00" + payload, "sm3").hexdigest()
            assert integrity_tag(key, payload) == want == integrity_tag(key, payload)


def test_sm4_single_block_vector_in_openssl_and_gmssl() -> None:
    want = bytes.fromhex("681edf34d206965e86b3e94f536e4246")
    assert ecb_encrypt_block(SM4_KEY, SM4_KEY) == want
    assert _gmssl_block(SM4_KEY, SM4_KEY) == want


def test_sm4_openssl_and_gmssl_agree_on_random_blocks() -> None:
    for _ in range(8):
        key, block = os.urandom(16), os.urandom(16)
        assert ecb_encrypt_block(key, block) == _gmssl_block(key, block)


def test_sm4_one_million_encryptions_vector() -> None:
    """GB/T 32907 A.2: the plaintext encrypted 1,000,000 times under the same key (OpenSSL only:
    gmssl does ~2,000 blocks/s). One cipher context, ECB, one block per update."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = SM4_KEY
    for _ in range(1_000_000):
        block = encryptor.update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


def _keyring() -> Sm4Keyring:
    return Sm4Keyring(parse_keys(f"k1:{'11' * 16},k2:{'22' * 16}"), active="k2")


def test_sm4_gcm_envelope_round_trip_and_format() -> None:
    ring = _keyring()
    envelope = ring.encrypt_text("北京海淀示例科技有限公司", context="org-1/buyer_name")
    version, key_id, _nonce, _sealed = envelope.split(":")
    assert (version, key_id) == ("v1", "k2")
    assert ring.decrypt_text(envelope, context="org-1/buyer_name") == "北京海淀示例科技有限公司"
    assert ring.encrypt_text("same") != ring.encrypt_text("same")  # fresh nonce each time


def test_sm4_gcm_rotation_old_key_still_decrypts() -> None:
    old = Sm4Keyring(parse_keys(f"k1:{'11' * 16}"), active="k1")
    envelope = old.encrypt(b"secret")
    rotated = _keyring()
    assert rotated.key_id_of(envelope) == "k1"
    assert rotated.decrypt(envelope) == b"secret"
    retired = Sm4Keyring(parse_keys(f"k2:{'22' * 16}"), active="k2")
    with pytest.raises(UnknownKeyError):
        retired.decrypt(envelope)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e[:-2] + ("A" if e[-2] != "A" else "B") + e[-1],  # ciphertext/tag bit
        lambda e: e.replace("v1:", "v2:", 1),
        lambda e: e.replace(":k2:", ":k1:", 1),  # claims the other key
        lambda e: e + ":x",
        lambda e: "v1:k2:!!!:???",
    ],
)
def test_sm4_gcm_rejects_tampering(tamper) -> None:  # type: ignore[no-untyped-def]
    ring = _keyring()
    with pytest.raises(DecryptionError):
        ring.decrypt(tamper(ring.encrypt(b"9111010829141777X4")))


def test_sm4_gcm_context_is_authenticated() -> None:
    ring = _keyring()
    with pytest.raises(DecryptionError):
        ring.decrypt(ring.encrypt(b"totp-secret", b"user-1"), b"user-2")


@pytest.mark.parametrize(
    "spec", ["k1", "k1:zz", f"k1:{'11' * 15}", f"bad id:{'11' * 16}", f"k1:{'11' * 16},k1:{'22' * 16}"]
)
def test_bad_sm4_key_settings_are_refused(spec: str) -> None:
    with pytest.raises(KeyConfigError):
        parse_keys(spec)


def test_the_active_key_must_exist() -> None:
    with pytest.raises(KeyConfigError):
        Sm4Keyring(parse_keys(f"k1:{'11' * 16}"), active="k9")
