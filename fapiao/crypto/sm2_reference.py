"""An independent SM2 signature implementation (GB/T 32918.2) in plain Python integers.

Written from the standard, sharing no code with gmssl, so each can check the other (tests sign with
one and verify with the other). Slow-ish (a few ms per operation) and not constant-time: use it to
verify, and gmssl (`fapiao.crypto.sm2`) to sign in the service.
"""

from __future__ import annotations

import secrets

from fapiao.crypto.sm3 import sm3

# The recommended curve of GB/T 32918.5: y^2 = x^3 + ax + b over F_p, base point G of order n.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
DEFAULT_ID = b"1234567812345678"

Point = tuple[int, int] | None  # None is the point at infinity


def on_curve(point: Point) -> bool:
    if point is None:
        return False
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    doubling = p1 == p2
    slope = (3 * x1 * x1 + A if doubling else y2 - y1) * pow(2 * y1 if doubling else x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def multiply(k: int, point: Point) -> Point:
    result: Point = None
    addend = point
    while k:
        if k & 1:
            result = add(result, addend)
        addend = add(addend, addend)
        k >>= 1
    return result


def public_key_of(private_key: int) -> tuple[int, int]:
    point = multiply(private_key, (GX, GY))
    assert point is not None
    return point


def z_value(public_key: tuple[int, int], user_id: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    entl = (len(user_id) * 8).to_bytes(2, "big")
    fields = (A, B, GX, GY, public_key[0], public_key[1])
    return sm3(entl + user_id + b"".join(v.to_bytes(32, "big") for v in fields))


def _e(message: bytes, public_key: tuple[int, int], user_id: bytes) -> int:
    return int.from_bytes(sm3(z_value(public_key, user_id) + message), "big")


def sign(
    private_key: int, message: bytes, user_id: bytes = DEFAULT_ID, k: int | None = None
) -> tuple[int, int]:
    """(r, s). `k` only for reproducing published vectors; by default a fresh secret nonce."""
    public_key = public_key_of(private_key)
    e = _e(message, public_key, user_id)
    while True:
        nonce = k if k is not None else secrets.randbelow(N - 1) + 1
        point = multiply(nonce, (GX, GY))
        assert point is not None
        r = (e + point[0]) % N
        if r == 0 or r + nonce == N:
            if k is not None:
                raise ValueError("the given k yields r = 0 or r + k = n")
            continue
        s = pow(1 + private_key, -1, N) * (nonce - r * private_key) % N
        if s != 0:
            return r, s
        if k is not None:
            raise ValueError("the given k yields s = 0")


def verify(
    public_key: tuple[int, int], message: bytes, signature: tuple[int, int], user_id: bytes = DEFAULT_ID
) -> bool:
    r, s = signature
    if not (1 <= r < N and 1 <= s < N) or not on_curve(public_key):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    point = add(multiply(s, (GX, GY)), multiply(t, public_key))
    if point is None:
        return False
    return (_e(message, public_key, user_id) + point[0]) % N == r
