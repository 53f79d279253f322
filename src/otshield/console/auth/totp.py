"""The second factor: time-based one-time passwords (RFC 6238, through pyotp), their enrolment
QR code (segno) and single-use recovery codes.

A code is accepted for the current 30-second step and one step either side (clock drift between
the server and the phone). RFC 6238 section 5.2 asks that a verifier refuse a code once it has
been used; we keep the last accepted step per user and accept only later steps, which also
refuses a code from an earlier step that is still inside the window.

Recovery codes carry 50 random bits each, so a plain SHA-256 is enough to store them (the slow
hash of passwords protects low-entropy secrets; these are not).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno

__all__ = ["ISSUER", "RECOVERY_CODES", "Enrolment", "hash_recovery_code", "matching_step",
           "new_recovery_codes", "new_secret", "now_code", "provisioning_uri", "qr_png_data_uri",
           "qr_svg", "use_recovery_code"]

ISSUER = "otshield"
DIGITS = 6
INTERVAL = 30
WINDOW = 1
"""Steps accepted either side of the current one."""
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper


def new_secret() -> str:
    """A new shared secret: 32 base32 characters (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline ``<svg>`` element (no XML declaration)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def qr_png_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as a ``data:image/png;base64,...`` URI."""
    return str(segno.make(uri, error="m").png_data_uri(scale=4))


class Enrolment:
    """What a user needs to add the account to an authenticator app."""

    __slots__ = ("qr_png", "qr_svg", "secret", "uri")

    def __init__(self, secret: str, username: str) -> None:
        self.secret = secret
        self.uri = provisioning_uri(secret, username)
        self.qr_svg = qr_svg(self.uri)
        self.qr_png = qr_png_data_uri(self.uri)


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "")


def matching_step(secret: str, code: str, last_step: int | None,
                  now: float | None = None) -> int | None:
    """The time step ``code`` belongs to when it is valid for ``secret`` at ``now`` and later
    than ``last_step`` (the step of the last accepted code), else None."""
    code = _normalise(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    current = int((time.time() if now is None else now) // INTERVAL)
    found: int | None = None
    # Check every candidate step (no early exit) so timing does not tell which one matched.
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def now_code(secret: str, now: float | None = None) -> str:
    """The code for ``secret`` at ``now`` (for tests and the command line)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(
        int(time.time() if now is None else now))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """``count`` fresh recovery codes, ``xxxxx-xxxxx`` (10 characters of a 31-letter alphabet)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code (SHA-256 hex of its normalised text)."""
    return hashlib.sha256(_normalise(code).casefold().encode()).hexdigest()


def use_recovery_code(hashes: list[str], code: str) -> list[str] | None:
    """The remaining hashes once ``code`` is spent, or None when it is not one of ``hashes``."""
    wanted = hash_recovery_code(code)
    hit = None
    for i, stored in enumerate(hashes):
        if hmac.compare_digest(stored, wanted):
            hit = i
    if hit is None:
        return None
    return hashes[:hit] + hashes[hit + 1:]
