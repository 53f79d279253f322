"""The Telnet event: one per connection, emitted when it ends, summarising the option
negotiation, the login (user name if recognisable; never the password) and the command lines
typed afterwards. The moment a password crosses the wire the session also raises the
``telnet.cleartext_login`` anomaly, so detection does not wait for the connection to end."""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["TelnetEvent"]


class TelnetEvent(Event, tag="telnet", rename=ecs(user="user.name"), frozen=True):
    """One Telnet connection (src is the client)."""

    banner: str | None = None
    """First server text (at most 256 characters): device and OS banners live here."""
    options: tuple[str, ...] | None = None
    """Options put in effect on either side (one side WILL, the other DO), in the order they
    were agreed: ECHO, SGA, TTYPE, NAWS..."""
    terminal_type: str | None = None
    env_user: str | None = None
    """USER sent through the NEW-ENVIRON option (automatic login, CVE-2007-0956 style)."""
    login_prompt: bool | None = None
    user: str | None = None
    """Text typed at the login/username prompt."""
    password_sent: bool | None = None
    """A password prompt was answered: credentials crossed the wire in clear (never stored)."""
    login_attempts: int | None = None
    login_result: str | None = None
    """success, failure, or unknown (a password was sent but the outcome was not recognised)."""
    commands: tuple[str, ...] | None = None
    """Lines typed after login (at most 64, each at most 256 characters)."""
    commands_truncated: bool | None = None
    client_bytes: int | None = None
    server_bytes: int | None = None
