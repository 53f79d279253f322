"""Decoders of the discovery (OPC 10000-4, 5.4), secure channel (5.5) and session (5.6)
service sets: endpoints and application descriptions, channel tokens, session creation and
the user identity token (a password is never kept)."""

from __future__ import annotations

from otshield.protocols.opcua.binary import Reader
from otshield.protocols.opcua.body import (
    MAX_ITEMS,
    Body,
    Decoder,
    results_tail,
    thumbprint,
)
from otshield.protocols.opcua.constants import (
    APPLICATION_TYPES,
    IDENTITY_TOKENS,
    REQUEST_TYPES,
    SECURITY_MODES,
    SECURITY_POLICIES,
    USER_TOKEN_TYPES,
)
from otshield.protocols.opcua.events import (
    OpcuaApplication,
    OpcuaChannel,
    OpcuaEndpoint,
    OpcuaIdentity,
    OpcuaSessionInfo,
)

__all__ = ["REQUESTS", "RESPONSES"]


# -- discovery (5.4) -------------------------------------------------------------------------------

def _application(r: Reader) -> OpcuaApplication:
    uri = r.string()
    product = r.string()
    name = r.localized_text()
    app_type = r.u32()
    r.string()  # GatewayServerUri
    r.string()  # DiscoveryProfileUri
    urls = r.strings("DiscoveryUrls")
    return OpcuaApplication(application_uri=uri, product_uri=product, application_name=name,
                            application_type=APPLICATION_TYPES.get(app_type, str(app_type)),
                            discovery_urls=urls or None)


def _endpoint(r: Reader) -> OpcuaEndpoint:
    url = r.string()
    server = _application(r)
    cert = r.raw_bytes()
    mode = r.u32()
    policy_uri = r.string()
    n = r.count("UserIdentityTokens", 20)
    tokens: list[str] = []
    for _ in range(n):
        r.string()  # PolicyId
        token_type = r.u32()
        r.string()  # IssuedTokenType
        r.string()  # IssuerEndpointUrl
        r.string()  # SecurityPolicyUri
        name = USER_TOKEN_TYPES.get(token_type, str(token_type))
        if name not in tokens:
            tokens.append(name)
    r.string()  # TransportProfileUri
    level = r.u8()
    return OpcuaEndpoint(
        endpoint_url=url, security_mode=SECURITY_MODES.get(mode, str(mode)),
        security_policy=SECURITY_POLICIES.get(policy_uri or "", "unknown"),
        security_policy_uri=policy_uri, user_token_types=tuple(tokens), security_level=level,
        server=server, server_certificate_thumbprint=thumbprint(cert))


def _endpoints(r: Reader, b: Body, what: str) -> None:
    n = r.count(what, 20)
    out = []
    for i in range(n):
        ep = _endpoint(r)
        if i < MAX_ITEMS:
            out.append(ep)
        else:
            b.truncated = True
    b.endpoints = out


def _find_servers_req(r: Reader, b: Body) -> None:
    url = r.string()
    r.strings("LocaleIds")
    r.strings("ServerUris")
    if url:
        b.session = OpcuaSessionInfo(endpoint_url=url)


def _find_servers_resp(r: Reader, b: Body) -> None:
    n = r.count("Servers", 20)
    out = []
    for i in range(n):
        app = _application(r)
        if i < MAX_ITEMS:
            out.append(app)
        else:
            b.truncated = True
    b.servers = out


def _get_endpoints_req(r: Reader, b: Body) -> None:
    url = r.string()
    r.strings("LocaleIds")
    r.strings("ProfileUris")
    if url:
        b.session = OpcuaSessionInfo(endpoint_url=url)


def _get_endpoints_resp(r: Reader, b: Body) -> None:
    _endpoints(r, b, "Endpoints")


# -- secure channel (5.5) --------------------------------------------------------------------------

def _open_channel_req(r: Reader, b: Body) -> None:
    version = r.u32()
    req_type = r.u32()
    mode = r.u32()
    r.raw_bytes()  # ClientNonce
    lifetime = r.u32()
    b.security_mode = SECURITY_MODES.get(mode, str(mode))
    b.channel = OpcuaChannel(request_type=REQUEST_TYPES.get(req_type, str(req_type)),
                             requested_lifetime=lifetime, client_protocol_version=version)


def _open_channel_resp(r: Reader, b: Body) -> None:
    version = r.u32()
    channel_id = r.u32()
    token_id = r.u32()
    created = r.datetime()
    lifetime = r.u32()
    r.raw_bytes()  # ServerNonce
    b.channel = OpcuaChannel(channel_id=channel_id, token_id=token_id, created_at=created,
                             revised_lifetime=lifetime, server_protocol_version=version)


# -- session (5.6) ---------------------------------------------------------------------------------

def _create_session_req(r: Reader, b: Body) -> None:
    client = _application(r)
    server_uri = r.string()
    url = r.string()
    name = r.string()
    r.raw_bytes()  # ClientNonce
    cert = r.raw_bytes()
    timeout = r.f64()
    r.u32()  # MaxResponseMessageSize
    b.session = OpcuaSessionInfo(client=client, server_uri=server_uri, endpoint_url=url,
                                 session_name=name, requested_timeout=timeout,
                                 client_certificate_thumbprint=thumbprint(cert))


def _create_session_resp(r: Reader, b: Body) -> None:
    session_id = r.node_id()
    r.node_id()  # AuthenticationToken: a secret of the session, not kept
    timeout = r.f64()
    r.raw_bytes()  # ServerNonce
    cert = r.raw_bytes()
    _endpoints(r, b, "ServerEndpoints")
    b.session = OpcuaSessionInfo(session_id=session_id, revised_timeout=timeout,
                                 server_certificate_thumbprint=thumbprint(cert),
                                 server_endpoints=len(b.endpoints or ()))
    # ServerSoftwareCertificates, ServerSignature, MaxRequestMessageSize: not needed


def _activate_session_req(r: Reader, b: Body) -> None:
    r.string()  # ClientSignature.Algorithm
    r.raw_bytes()  # ClientSignature.Signature
    n = r.count("ClientSoftwareCertificates", 8)
    for _ in range(n):
        r.raw_bytes()
        r.raw_bytes()
    locales = r.strings("LocaleIds")
    numeric, text, token = r.extension_object()
    token_type: str | None = IDENTITY_TOKENS.get(numeric, text) if numeric is not None else text
    policy: str | None = None
    password: bool | None = None
    algorithm: str | None = None
    cert_thumb: str | None = None
    if token is not None:
        t = Reader(token)
        policy = t.string()
        if numeric == 324:  # UserNameIdentityToken: UserName, Password, EncryptionAlgorithm
            b.user_name = t.string()
            secret = t.raw_bytes()
            password = bool(secret)  # the (possibly clear-text) password itself is never kept
            algorithm = t.string()
        elif numeric == 327:  # X509IdentityToken: CertificateData
            cert_thumb = thumbprint(t.raw_bytes())
        elif numeric == 940:  # IssuedIdentityToken: TokenData, EncryptionAlgorithm
            t.raw_bytes()
            algorithm = t.string()
    elif numeric == 0:
        token_type = None  # no identity token at all
    b.identity = OpcuaIdentity(token_type=token_type, policy_id=policy,
                               password_present=password, encryption_algorithm=algorithm or None,
                               certificate_thumbprint=cert_thumb, locale_ids=locales or None)


def _activate_session_resp(r: Reader, b: Body) -> None:
    r.raw_bytes()  # ServerNonce
    results_tail(r, b)


def _close_session_req(r: Reader, b: Body) -> None:
    r.boolean()  # DeleteSubscriptions


REQUESTS: dict[str, Decoder] = {
    "FindServers": _find_servers_req,
    "GetEndpoints": _get_endpoints_req,
    "OpenSecureChannel": _open_channel_req,
    "CreateSession": _create_session_req,
    "ActivateSession": _activate_session_req,
    "CloseSession": _close_session_req,
}

RESPONSES: dict[str, Decoder] = {
    "FindServers": _find_servers_resp,
    "GetEndpoints": _get_endpoints_resp,
    "OpenSecureChannel": _open_channel_resp,
    "CreateSession": _create_session_resp,
    "ActivateSession": _activate_session_resp,
}
