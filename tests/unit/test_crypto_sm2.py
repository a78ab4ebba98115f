"""SM2: gmssl (the service's signer) against an independent implementation, the GB/T 32918.5 example,
and the OpenSSL command line, each way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from Cryptodome.Util.asn1 import DerInteger, DerSequence

from fapiao.crypto import sm2, sm2_reference
from fapiao.crypto.exceptions import SignatureError

# GB/T 32918.5-2017 (GM/T 0003.5) signature example on the recommended curve.
VECTOR_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
VECTOR_PUBLIC = (
    0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020,
    0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13,
)
VECTOR_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
VECTOR_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
VECTOR_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
# A key whose x coordinate starts with hex "04": gmssl's own constructor would strip those digits.
X_STARTS_WITH_04 = 0xE8FA134C5096E783CEC0AD2087249C471AC7E22E38F9FFE4C179743DB60F052B


def test_reference_reproduces_the_standard_example() -> None:
    assert sm2_reference.public_key_of(VECTOR_D) == VECTOR_PUBLIC
    assert sm2_reference.sign(VECTOR_D, b"message digest", k=VECTOR_K) == (VECTOR_R, VECTOR_S)
    assert sm2_reference.verify(VECTOR_PUBLIC, b"message digest", (VECTOR_R, VECTOR_S))


def test_gmssl_verifies_the_standard_example() -> None:
    assert sm2.verify(VECTOR_PUBLIC, b"message digest", f"{VECTOR_R:064x}{VECTOR_S:064x}")


@pytest.mark.parametrize("private", [VECTOR_D, X_STARTS_WITH_04, None])
def test_gmssl_signs_reference_verifies(private: int | None) -> None:
    pair = (
        sm2.Sm2KeyPair.generate()
        if private is None
        else sm2.Sm2KeyPair(private, sm2_reference.public_key_of(private))
    )
    message = "查验证明 receipt".encode()
    signature = sm2.sign(pair, message)
    r, s = int(signature[:64], 16), int(signature[64:], 16)
    assert sm2_reference.verify(pair.public, message, (r, s))
    assert not sm2_reference.verify(pair.public, message + b"!", (r, s))


@pytest.mark.parametrize("private", [VECTOR_D, X_STARTS_WITH_04, None])
def test_reference_signs_gmssl_verifies(private: int | None) -> None:
    d = private if private is not None else sm2.Sm2KeyPair.generate().private
    public = sm2_reference.public_key_of(d)
    message = b'{"verdict":"consistent"}'
    r, s = sm2_reference.sign(d, message)
    assert sm2.verify(public, message, f"{r:064x}{s:064x}")
    assert not sm2.verify(public, b'{"verdict":"inconsistent"}', f"{r:064x}{s:064x}")


def test_signatures_use_fresh_nonces() -> None:
    pair = sm2.Sm2KeyPair.generate()
    assert sm2.sign(pair, b"x") != sm2.sign(pair, b"x")


@pytest.mark.parametrize("signature", ["", "00" * 64, "zz" * 64, "ff" * 64, "01" * 63])
def test_malformed_signatures_do_not_verify(signature: str) -> None:
    assert not sm2.verify(VECTOR_PUBLIC, b"message digest", signature)


def test_keys_round_trip_through_pem_and_hex(tmp_path: Path) -> None:
    pair = sm2.load_or_create(tmp_path)
    assert (tmp_path / sm2.PRIVATE_FILE).stat().st_mode & 0o777 == 0o600
    assert sm2.load_or_create(tmp_path) == pair  # the second call reads, never regenerates
    assert sm2.load_public_key(sm2.public_key_pem(pair.public)) == pair.public
    assert sm2.load_public_key(sm2.public_hex(pair.public)) == pair.public
    assert sm2.load_public_key("04" + sm2.public_hex(pair.public)) == pair.public
    assert sm2.load_private_key(sm2.private_key_pem(pair)) == pair


@pytest.mark.parametrize("text", ["", "nothex", "04" + "00" * 64, "-----BEGIN PUBLIC KEY-----\n!!\n-----END"])
def test_bad_public_keys_are_refused(text: str) -> None:
    with pytest.raises(SignatureError):
        sm2.load_public_key(text)


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="no openssl command line (Debian ships it)")
def test_openssl_command_line_agrees_both_ways(tmp_path: Path) -> None:
    pair = sm2.Sm2KeyPair.generate()
    (tmp_path / "key.pem").write_text(sm2.private_key_pem(pair))
    (tmp_path / "pub.pem").write_text(sm2.public_key_pem(pair.public))
    (tmp_path / "msg").write_bytes(b"fapiao receipt")
    common = ["-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", str(tmp_path / "msg")]
    signed = subprocess.run(
        [OPENSSL, "pkeyutl", "-sign", "-inkey", str(tmp_path / "key.pem"), *common], capture_output=True
    )
    assert signed.returncode == 0, signed.stderr.decode()
    der = DerSequence().decode(signed.stdout)
    assert sm2.verify(pair.public, b"fapiao receipt", f"{der[0]:064x}{der[1]:064x}")

    ours = sm2.sign(pair, b"fapiao receipt")
    (tmp_path / "sig").write_bytes(
        DerSequence([DerInteger(int(ours[:64], 16)), DerInteger(int(ours[64:], 16))]).encode()
    )
    checked = subprocess.run(
        [
            OPENSSL,
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(tmp_path / "pub.pem"),
            "-sigfile",
            str(tmp_path / "sig"),
            *common,
        ],
        capture_output=True,
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
