"""Password hashing (argon2id through argon2-cffi) and the password policy.

argon2id is the OWASP Password Storage Cheat Sheet's first choice; argon2-cffi's defaults follow
RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes). When those defaults change in a
new release, :func:`needs_rehash` tells the sign-in code to re-hash the password it just verified.

The policy follows NIST SP 800-63B section 5.1.1.2: a minimum length rather than composition
rules, an upper bound so a hash cannot be made to burn CPU, and a refusal of passwords built from
the account name. There is no default password anywhere: new accounts get a random one-time one.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "PasswordPolicyError", "check_policy", "dummy_verify",
           "generate_password", "hash_password", "needs_rehash", "set_hasher",
           "verify_password"]

MIN_LENGTH = 12
MAX_LENGTH = 256
"""Characters; longer input is refused before hashing (argon2 itself would accept it)."""

_HASHER = PasswordHasher()
_DUMMY: dict[PasswordHasher, str] = {}
"""A hash of a random secret nobody knows, per hasher: verifying against it when the account
does not exist costs the same time as a real check, so response times do not reveal which
names exist."""


def set_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Use ``hasher`` from now on; returns the previous one. For tests, which swap in cheap
    parameters (one argon2id hash with the defaults costs 50 ms to a second of CPU)."""
    global _HASHER
    previous, _HASHER = _HASHER, hasher
    return previous


class PasswordPolicyError(ValueError):
    """The new password does not meet the policy; the message says why."""


def check_policy(password: str, username: str) -> None:
    """Raise :class:`PasswordPolicyError` unless ``password`` may be used by ``username``."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"the password must have at most {MAX_LENGTH} characters")
    if len(set(password)) == 1:
        raise PasswordPolicyError("the password must not repeat a single character")
    name = username.strip().casefold()
    folded = password.casefold()
    if name and (name in folded or name[::-1] in folded):
        raise PasswordPolicyError("the password must not contain the user name")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string: algorithm, parameters, salt and digest) of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Does ``password`` match ``password_hash``? A damaged hash never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of one verification (for unknown accounts)."""
    dummy = _DUMMY.get(_HASHER)
    if dummy is None:
        dummy = _DUMMY[_HASHER] = _HASHER.hash(secrets.token_urlsafe(32))
    verify_password(dummy, password[:MAX_LENGTH])


def needs_rehash(password_hash: str) -> bool:
    """Was ``password_hash`` made with other parameters than today's?"""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def generate_password() -> str:
    """A random one-time password: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)
