"""Unit tests of the access-control building blocks that need no app: password policy and
hashing, TOTP codes and the replay guard, recovery codes, the token bucket, the unknown-name
lockout, token formats."""

from __future__ import annotations

import hashlib

import pyotp
import pytest
from argon2 import PasswordHasher

from otshield.console.auth import passwords, tokens, totp
from otshield.console.auth.ratelimit import (
    TokenBucketLimiter,
    UnknownAccountFailures,
    retry_after_header,
)

# -- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "reason"), [
    ("short-pw-11", "at least 12"),
    ("a" * 12, "single character"),
    ("x" * 257, "at most 256"),
    ("my-name-is-Alice!", "user name"),
    ("ecila-reversed-99", "user name"),
])
def test_policy_refuses(password: str, reason: str) -> None:
    with pytest.raises(passwords.PasswordPolicyError, match=reason):
        passwords.check_policy(password, "alice")


def test_policy_accepts_twelve_characters() -> None:
    passwords.check_policy("tr0ub4dor&3x", "alice")  # exactly MIN_LENGTH
    assert passwords.MIN_LENGTH == 12


def test_hash_is_argon2id_and_verifies() -> None:
    h = passwords.hash_password("correct horse battery")
    assert h.startswith("$argon2id$v=19$")
    assert passwords.verify_password(h, "correct horse battery")
    assert not passwords.verify_password(h, "correct horse batterY")
    assert not passwords.verify_password("not-a-hash", "x")
    assert not passwords.verify_password(h, "x" * 300)
    assert not passwords.needs_rehash(h)


def test_weaker_parameters_need_rehash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw-old-params!")
    assert passwords.verify_password(old, "pw-old-params!")
    assert passwords.needs_rehash(old)
    assert passwords.needs_rehash("garbage")


def test_generated_passwords_are_random_and_meet_the_policy() -> None:
    made = {passwords.generate_password() for _ in range(50)}
    assert len(made) == 50
    for pw in made:
        assert len(pw) == 24
        passwords.check_policy(pw, "admin")


# -- TOTP ---------------------------------------------------------------------------------------

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = 1_700_000_000.0  # step 56_666_666 (T0 // 30), 20 s into it


def _code(step: int) -> str:
    return pyotp.TOTP(SECRET).generate_otp(step)


def test_code_of_current_and_adjacent_steps_accepted() -> None:
    step = int(T0 // 30)
    assert step == 56_666_666
    assert totp.matching_step(SECRET, _code(step), None, T0) == step
    assert totp.matching_step(SECRET, _code(step - 1), None, T0) == step - 1
    assert totp.matching_step(SECRET, _code(step + 1), None, T0) == step + 1
    assert totp.matching_step(SECRET, _code(step - 2), None, T0) is None
    assert totp.matching_step(SECRET, _code(step + 2), None, T0) is None


def test_replay_and_older_steps_refused() -> None:
    step = int(T0 // 30)
    assert totp.matching_step(SECRET, _code(step), step, T0) is None       # same step again
    assert totp.matching_step(SECRET, _code(step - 1), step, T0) is None   # older step
    assert totp.matching_step(SECRET, _code(step + 1), step, T0) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_refused(bad: str) -> None:
    assert totp.matching_step(SECRET, bad, None, T0) is None


def test_spaces_in_codes_are_ignored() -> None:
    step = int(T0 // 30)
    code = _code(step)
    assert totp.matching_step(SECRET, f"{code[:3]} {code[3:]}", None, T0) == step


def test_now_code_matches_pyotp() -> None:
    assert totp.now_code(SECRET, T0) == pyotp.TOTP(SECRET).at(int(T0))


def test_enrolment_uri_and_qr() -> None:
    e = totp.Enrolment(SECRET, "alice")
    assert e.uri == f"otpauth://totp/otshield:alice?secret={SECRET}&issuer=otshield"
    assert e.qr_svg.startswith("<svg") and e.qr_svg.rstrip().endswith("</svg>")
    assert e.qr_png.startswith("data:image/png;base64,")
    assert len(totp.new_secret()) == 32


def test_recovery_codes_single_use() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    hashes = [totp.hash_recovery_code(c) for c in codes]
    assert hashes[0] == hashlib.sha256(codes[0].replace("-", "").encode()).hexdigest()
    left = totp.use_recovery_code(hashes, codes[3].upper())  # case and dash do not matter
    assert left == hashes[:3] + hashes[4:]
    assert totp.use_recovery_code(left, codes[3]) is None
    assert totp.use_recovery_code(hashes, "zzzzz-zzzzz") is None


# -- rate limiting ------------------------------------------------------------------------------


def test_token_bucket_burst_then_refill() -> None:
    b = TokenBucketLimiter(rate=0.5, burst=3)   # one attempt per 2 s after a burst of 3
    assert [b.take("ip", 100.0) for _ in range(3)] == [None, None, None]
    assert b.take("ip", 100.0) == pytest.approx(2.0)
    assert b.take("ip", 101.0) == pytest.approx(1.0)   # half a token back after 1 s
    assert b.take("ip", 102.0) is None                 # a whole one after 2 s
    assert b.take("other", 102.0) is None              # per key
    assert b.retry_after("ip", 102.0) == pytest.approx(2.0)
    b.reset("ip")
    assert b.retry_after("ip", 102.0) is None


def test_token_bucket_memory_is_bounded() -> None:
    b = TokenBucketLimiter(rate=1.0, burst=2, max_keys=3)
    for i in range(10):
        b.take(f"k{i}", 0.0)
    assert len(b) == 3


def test_retry_after_header_rounds_up() -> None:
    assert retry_after_header(0.2) == {"Retry-After": "1"}
    assert retry_after_header(4.01) == {"Retry-After": "5"}


def test_unknown_account_failures_lock_like_accounts() -> None:
    f = UnknownAccountFailures()
    assert [f.fail("ghost", 10.0, 3, 60) for _ in range(2)] == [None, None]
    assert f.fail("ghost", 10.0, 3, 60) == 60
    assert f.locked_for("ghost", 30.0) == pytest.approx(40.0)
    assert f.locked_for("ghost", 70.0) is None
    assert f.locked_for("other", 30.0) is None


# -- tokens -------------------------------------------------------------------------------------


def test_token_format() -> None:
    secret, digest, prefix = tokens.new_token()
    assert secret.startswith("otk_") and len(secret) == 4 + 43
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    assert prefix == secret[:12]
    assert tokens.parse_scopes(["b:x", "a:y", "b:x"]) == "a:y b:x"
