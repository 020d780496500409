"""SSRF checks for webhook targets.

Registration calls `check_webhook_url`; delivery calls `resolve_pinned` and connects only to the addresses it
returns, so a second DNS answer cannot rebind the request. Every spelling that a resolver or `inet_aton` would
read as an IP address (decimal, hex, octal, short forms, IPv4-mapped / NAT64 / 6to4 IPv6) is treated as that
address. `ALLOW_PRIVATE_WEBHOOK_TARGETS=true` (local development and tests) lifts the address checks and lets
plain http through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import quote, urlsplit, urlunsplit

from tickets.errors import ValidationFailed

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# Spelled out rather than left to `ipaddress.is_global`, whose tables differ between Python versions.
_BLOCKED_V4: tuple[ipaddress.IPv4Network, ...] = (
    _V4("0.0.0.0/8"),  # "this network"; 0.0.0.0 reaches localhost on Linux
    _V4("10.0.0.0/8"),
    _V4("100.64.0.0/10"),  # shared address space (carrier-grade NAT)
    _V4("127.0.0.0/8"),
    _V4("169.254.0.0/16"),  # link-local, includes the instance metadata service 169.254.169.254
    _V4("172.16.0.0/12"),
    _V4("192.0.0.0/24"),  # IETF protocol assignments
    _V4("192.0.2.0/24"),  # documentation (TEST-NET-1)
    _V4("192.88.99.0/24"),  # deprecated 6to4 relay anycast
    _V4("192.168.0.0/16"),
    _V4("198.18.0.0/15"),  # benchmarking
    _V4("198.51.100.0/24"),  # documentation (TEST-NET-2)
    _V4("203.0.113.0/24"),  # documentation (TEST-NET-3)
    _V4("224.0.0.0/4"),  # multicast
    _V4("240.0.0.0/4"),  # reserved, includes broadcast 255.255.255.255
)
_BLOCKED_V6: tuple[ipaddress.IPv6Network, ...] = (
    _V6("::/96"),  # unspecified, loopback and the deprecated IPv4-compatible form (checked below too)
    _V6("::ffff:0:0/96"),  # IPv4-mapped: only reached when the embedded address is refused (see _embedded_v4)
    _V6("64:ff9b:1::/48"),  # local-use NAT64
    _V6("100::/64"),  # discard-only
    _V6("2001::/23"),  # IETF protocol assignments, includes Teredo 2001::/32
    _V6("2001:db8::/32"),  # documentation
    _V6("3fff::/20"),  # documentation
    _V6("5f00::/16"),  # segment routing SIDs
    _V6("fc00::/7"),  # unique local, includes AWS metadata fd00:ec2::254
    _V6("fe80::/10"),  # link-local
    _V6("fec0::/10"),  # site-local (deprecated)
    _V6("ff00::/8"),  # multicast
)
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")
_V4_COMPATIBLE = _V6("::/96")

# Names that reach the host itself or cloud metadata services without going through a public DNS answer.
_BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data", "broadcasthost"})
_BLOCKED_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".intranet", ".lan")
_HOST_CHARS = re.compile(r"^[a-z0-9_.-]+$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_V4_PART = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$")


class BlockedAddress(Exception):
    """The target resolves to (or is) an address that webhooks may not reach. `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnresolvableHost(BlockedAddress):
    """The target name has no A/AAAA answer. A subclass so that callers catching BlockedAddress see it too."""


def _parse_inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 the way inet_aton reads it: 1 to 4 parts, each decimal, 0x-hex or 0-octal; the last fills the rest."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not _V4_PART.match(part):
            return None
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            values.append(int(part, 8))
        else:
            values.append(int(part))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def parse_host_ip(host: str) -> IPAddress | None:
    """The IP address `host` denotes in any spelling a resolver would accept, or None for a host name."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        text = text.split("%", 1)[0]  # zone id: fe80::1%eth0, or %25eth0 as written in a URL
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]  # "127.0.0.1." is still 127.0.0.1
    return _parse_inet_aton(text) if text else None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `ip` would really reach (mapped, compatible, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, looking through IPv6 forms that embed IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(int(ip))
        embedded = _embedded_v4(ip)
        if embedded is not None and not is_public(embedded):
            return False
        if ip.ipv4_mapped is not None or ip in _NAT64 or ip in _SIX_TO_FOUR:
            return True  # the packet is delivered to the embedded (public) IPv4 address
        if any(ip in net for net in _BLOCKED_V6):
            return False
    elif any(ip in net for net in _BLOCKED_V4):
        return False
    flags = (ip.is_loopback, ip.is_private, ip.is_link_local, ip.is_multicast, ip.is_unspecified, ip.is_reserved)
    if any(flags) or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return False
    return ip.is_global


def _blocked_name(host: str) -> bool:
    name = host.rstrip(".")
    return name in _BLOCKED_NAMES or name.endswith(_BLOCKED_SUFFIXES) or "." not in name


def _getaddrinfo(host: str, port: int) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"{host} does not resolve") from exc
    out: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = parse_host_ip(str(sockaddr[0]))
        if ip is not None and ip not in out:
            out.append(ip)
    if not out:
        raise UnresolvableHost(f"{host} does not resolve")
    return out


def resolve_pinned(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The checked addresses to connect to for `host`, resolved once. Connect only to these (no second lookup).

    Strict: if any answer is non-public the whole name is refused, so a mixed public + private answer cannot
    steer a retry or a happy-eyeballs fallback to an internal address.
    """
    name = host.strip().lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")  # what getaddrinfo would do; full-width digits become ASCII
        except UnicodeError:
            raise UnresolvableHost(f"{host!r} is not a valid host name") from None
    ip = parse_host_ip(name)
    if ip is not None:
        if not allow_private and not is_public(ip):
            raise BlockedAddress(f"{ip} is not a public address")
        return [ip]
    if not allow_private and _blocked_name(name):
        raise BlockedAddress(f"{name} is an internal host name")
    addresses = _getaddrinfo(name, port)
    if not allow_private:
        bad = [a for a in addresses if not is_public(a)]
        if bad:
            raise BlockedAddress(f"{name} resolves to non-public address {bad[0]}")
    return addresses


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.of("url", message)


def _ascii_only(part: str) -> str:
    return "".join(c if c.isascii() else quote(c, safe="") for c in part)


def _normalise_host(raw: str) -> str:
    """Lower-case ASCII host (IDNA for non-ASCII names). Raises ValueError for characters no host may contain."""
    host = raw.lower()
    if not host.isascii():
        host = host.encode("idna").decode("ascii").lower()
    if not _HOST_CHARS.match(host) or ".." in host or host.startswith((".", "-")):
        raise ValueError(host)
    return host


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Validate a webhook target at registration and return it normalised. Raises ValidationFailed (field `url`)."""
    if not isinstance(url, str) or not url:
        raise _invalid("a URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise _invalid("must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _invalid("is not a valid URL (check the host and port)") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_private):
        raise _invalid("must use https")
    if "@" in parts.netloc:
        raise _invalid("must not contain credentials (user:password@)")
    if not parts.hostname:
        raise _invalid("must include a host")
    if port is not None and not 1 <= port <= 65535:
        raise _invalid("port must be between 1 and 65535")

    raw_host = parts.hostname
    if ":" not in raw_host:
        try:
            raw_host = _normalise_host(raw_host)  # IDNA first: full-width digits are digits to a resolver
        except (ValueError, UnicodeError):
            raise _invalid("host is not a valid host name") from None
    ip = parse_host_ip(raw_host)
    if ip is not None:
        if not allow_private and not is_public(ip):
            raise _invalid(f"must not point to a private, loopback, link-local or otherwise non-public address ({ip})")
        host = f"[{ip}]" if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    elif ":" in raw_host:
        raise _invalid("is not a valid URL (bad IPv6 address)")
    else:
        host = raw_host
        if _NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]):
            raise _invalid("host is not a valid IP address or host name")
        try:
            resolve_pinned(host, port or (443 if scheme == "https" else 80), allow_private=allow_private)
        except UnresolvableHost:
            raise _invalid(f"host {host} does not resolve") from None
        except BlockedAddress as exc:
            raise _invalid(f"must not point to a private or internal address ({exc.reason})") from None

    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((scheme, netloc, _ascii_only(parts.path), _ascii_only(parts.query), ""))
