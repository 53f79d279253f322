"""Access control of the console: who may sign in, how, and what each principal may do.

Passwords (argon2id), TOTP second factor with QR enrolment, server-side sessions with CSRF
tokens, per-account lockout and per-address rate limiting, scoped API tokens, the first-start
administrator, and the append-only audit trail every change goes through. The dependencies the
routes use (:func:`~otshield.console.auth.deps.require`, :class:`~otshield.console.auth.deps.
Principal`, :func:`~otshield.console.auth.deps.audit`) live in :mod:`otshield.console.auth.deps`.
"""
