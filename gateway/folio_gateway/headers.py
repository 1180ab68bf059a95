"""Which headers cross the gateway, in each direction (RFC 9110 §7.6.1 and our rules).

Requests: hop-by-hop headers (and any header the ``Connection`` header names) stop here;
so does everything that claims an identity (``Authorization`` and cookies are consumed
here, internal ``x-folio-*`` headers and the identity headers of other proxies are never
believed), the admin secret, and forwarding and trace headers, which the gateway writes
itself. Responses: hop-by-hop headers stop, ``Date`` and ``Server`` are the gateway's own,
the gateway owns CORS, request ids and security headers, a repeated field is folded into
one line (``Set-Cookie`` excepted), and a redirect to a service's own address becomes a
relative one, so no internal address reaches a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from folio.identity import CLIENT_FORBIDDEN_HEADERS

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Request headers the gateway consumes or writes itself.
_REQUEST_OWN = frozenset(
    {
        b"host",
        # 100-continue is answered at this edge (by the server, once the request passed
        # the gateway's checks), not passed on.
        b"expect",
        b"authorization",
        b"cookie",
        b"x-admin-secret",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-real-ip",
        b"x-request-id",
        b"traceparent",
        b"tracestate",
        b"baggage",
        *(name.encode() for name in CLIENT_FORBIDDEN_HEADERS),
    }
)
DROP_REQUEST = HOP_BY_HOP | _REQUEST_OWN
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; sandbox"),
)
DROP_RESPONSE = HOP_BY_HOP | frozenset(
    {
        b"date",
        b"server",
        b"x-request-id",
        b"strict-transport-security",
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-allow-methods",
        b"access-control-allow-headers",
        b"access-control-expose-headers",
        b"access-control-max-age",
        *(name for name, _ in SECURITY_HEADERS),
    }
)
_REWRITTEN = (b"location", b"content-location")


@dataclass(slots=True)
class IncomingHeaders:
    """What the gateway needs from a request's headers, read in one pass, and the
    headers to forward."""

    forward: list[tuple[str, str]] = field(default_factory=list)
    authorization: str | None = None
    cookie: str | None = None
    admin_secret: str | None = None
    content_length: str | None = None
    chunked: bool = False
    request_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    forwarded_for: str | None = None
    forwarded_proto: str | None = None
    host: str = ""


def read_request_headers(raw: list[tuple[bytes, bytes]]) -> IncomingHeaders:
    out = IncomingHeaders()
    forward = out.forward
    connection_named: set[bytes] | None = None
    for name, value in raw:
        if name in DROP_REQUEST or name.startswith(b"x-folio-"):
            if name == b"authorization":
                out.authorization = value.decode("latin-1")
            elif name == b"cookie":
                # Several Cookie lines are one list (RFC 9113 allows the split).
                text = value.decode("latin-1")
                out.cookie = f"{out.cookie}; {text}" if out.cookie else text
            elif name == b"x-admin-secret":
                out.admin_secret = value.decode("latin-1")
            elif name == b"x-request-id":
                out.request_id = value.decode("latin-1")
            elif name == b"traceparent":
                out.traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                out.tracestate = value.decode("latin-1")
            elif name == b"host":
                out.host = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                text = value.decode("latin-1")
                out.forwarded_for = f"{out.forwarded_for}, {text}" if out.forwarded_for else text
            elif name == b"x-forwarded-proto":
                out.forwarded_proto = value.decode("latin-1")
            elif name == b"transfer-encoding":
                out.chunked = b"chunked" in value.lower()
            elif name == b"connection":
                connection_named = {t.strip().lower() for t in value.split(b",")}
            continue
        if name == b"content-length":
            out.content_length = value.decode("latin-1")
        forward.append((name.decode("latin-1"), value.decode("latin-1")))
    if connection_named:
        out.forward = [(k, v) for k, v in forward if k.encode("latin-1") not in connection_named]
    return out


def response_headers(
    raw: tuple[tuple[bytes, bytes], ...] | list[tuple[bytes, bytes]],
    internal_origins: tuple[bytes, ...],
) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers as they may reach the client."""
    out: list[tuple[bytes, bytes]] = []
    seen: dict[bytes, int] = {}
    connection_named: set[bytes] | None = None
    for name, value in raw:
        name = name.lower()
        if name in DROP_RESPONSE:
            if name == b"connection":
                connection_named = {t.strip().lower() for t in value.split(b",")}
            continue
        if name in _REWRITTEN:
            value = _relative_if_internal(value, internal_origins)
        index = seen.get(name)
        if index is not None and name != b"set-cookie":
            out[index] = (name, out[index][1] + b", " + value)
            continue
        seen[name] = len(out)
        out.append((name, value))
    if connection_named:
        out = [(k, v) for k, v in out if k not in connection_named]
    return out


def _relative_if_internal(value: bytes, internal_origins: tuple[bytes, ...]) -> bytes:
    lowered = value.lower()
    for origin in internal_origins:
        if lowered.startswith(origin):
            rest = value[len(origin) :]
            if not rest or rest[:1] in (b"/", b"?", b"#"):
                return rest if rest[:1] == b"/" else b"/" + rest
    return value


def origin_of(url: str) -> bytes:
    """``scheme://host[:port]`` of a URL, lower-cased, as it would open a Location."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}".lower().encode()
