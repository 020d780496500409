"""SSRF checks for webhook URLs: every spelling of a non-public address is refused. DNS is faked, never real."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from tickets.errors import FieldError, ValidationFailed
from tickets.integrations import ssrf
from tickets.integrations.ssrf import (
    BlockedAddress,
    UnresolvableHost,
    check_webhook_url,
    is_public,
    parse_host_ip,
    resolve_pinned,
)


class FakeDns:
    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out: list[tuple[Any, ...]] = []
        for addr in self.answers[host]:
            if ":" in addr:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (addr, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (addr, port)))
        return out


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    fake.answers.update(
        {
            "hooks.example.com": ["93.184.216.34"],
            "v6.example.com": ["2606:4700:4700::1111", "93.184.216.34"],
            "internal.example.com": ["10.0.0.5"],
            "mixed.example.com": ["93.184.216.34", "10.0.0.5"],
            "mixed-order.example.com": ["169.254.169.254", "93.184.216.34"],
            "loop6.example.com": ["::1"],
            "mapped.example.com": ["::ffff:127.0.0.1"],
            "localhost": ["127.0.0.1", "::1"],
        }
    )
    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fake)
    return fake


def refused(url: str, *, allow_private: bool = False) -> str:
    with pytest.raises(ValidationFailed) as info:
        check_webhook_url(url, allow_private=allow_private)
    errors = info.value.errors
    assert len(errors) == 1 and isinstance(errors[0], FieldError) and errors[0].field == "url"
    assert info.value.detail
    return errors[0].message


# --- parse_host_ip ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0000.0000.0001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.1.1", "10.1.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("169.254.43518", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
        ("::127.0.0.1", "::7f00:1"),
        ("64:ff9b::10.0.0.1", "64:ff9b::a00:1"),
        ("2002:c0a8:0101::1", "2002:c0a8:101::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("93.184.216.34", "93.184.216.34"),
    ],
)
def test_parse_host_ip_spellings(host: str, expected: str) -> None:
    assert parse_host_ip(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    ["example.com", "hooks.example.com", "localhost", "1.2.3.4.5", "256.0.0.1", "08.0.0.1", "0xg.0.0.1", "4294967296",
     "127.0.0.1.nip.io", "1_0.0.0.1", "[::1", "::gg", ""],
)  # fmt: skip
def test_parse_host_ip_names_are_none(host: str) -> None:
    assert parse_host_ip(host) is None


# --- is_public -------------------------------------------------------------------------------------------------

NON_PUBLIC = [
    "127.0.0.1", "127.255.255.254",  # loopback
    "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",  # RFC 1918
    "169.254.169.254", "169.254.0.1",  # link-local, instance metadata
    "224.0.0.1", "239.255.255.250",  # multicast
    "0.0.0.0", "0.1.2.3",  # unspecified, 0.0.0.0/8
    "255.255.255.255", "240.0.0.1",  # broadcast, reserved
    "100.64.0.1", "100.127.255.254",  # shared address space
    "198.18.0.1", "198.19.255.255",  # benchmarking
    "192.0.2.1", "198.51.100.1", "203.0.113.1",  # documentation
    "192.0.0.8",  # IETF protocol assignments
    "::1", "::",  # IPv6 loopback, unspecified
    "fc00::1", "fd12:3456::1", "fd00:ec2::254",  # unique local, AWS IPv6 metadata
    "fe80::1", "febf::1",  # link-local
    "fec0::1",  # site-local
    "ff02::1", "ff05::1:3",  # multicast
    "2001:db8::1", "3fff::1",  # documentation
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",  # IPv4-mapped
    "::127.0.0.1", "::10.0.0.1", "::93.184.216.34",  # IPv4-compatible (deprecated)
    "64:ff9b::127.0.0.1", "64:ff9b::169.254.169.254", "64:ff9b::10.0.0.1", "64:ff9b:1::1",  # NAT64
    "2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:c0a8:101::1",  # 6to4 around private IPv4
    "2001::1",  # Teredo
]  # fmt: skip

PUBLIC = [
    "93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e", "::ffff:93.184.216.34", "64:ff9b::93.184.216.34", "2002:5db8:d822::1",
]  # fmt: skip


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address)) is True


def test_scoped_link_local_is_not_public() -> None:
    assert is_public(ipaddress.IPv6Address("fe80::1%eth0")) is False


# --- check_webhook_url: addresses in every spelling -----------------------------------------------------------

PRIVATE_URLS = [
    "https://127.0.0.1/hook", "https://127.0.0.1:8443/hook", "https://2130706433/", "https://0x7f000001/",
    "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://017700000001/", "https://127.1/", "https://10.1.1/",
    "https://127.0.0.1./", "https://[::1]/", "https://[::1]:8443/", "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/", "https://[::127.0.0.1]/", "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b::127.0.0.1]/", "https://[2002:a9fe:a9fe::]/", "https://[2002:c0a8:101::1]/",
    "https://[fe80::1%25eth0]/", "https://169.254.169.254/latest/meta-data/", "https://2852039166/",
    "https://0xa9.0xfe.0xa9.0xfe/", "https://[::ffff:169.254.169.254]/", "https://[fd00:ec2::254]/",
    "https://0.0.0.0/", "https://0/", "https://[::]/", "https://224.0.0.1/", "https://[ff02::1]/",
    "https://255.255.255.255/", "https://240.0.0.1/", "https://100.64.0.1/", "https://198.18.0.1/",
    "https://192.0.2.1/", "https://198.51.100.1/", "https://203.0.113.1/", "https://[2001:db8::1]/",
    "https://[fec0::1]/", "https://10.0.0.1/", "https://172.16.0.1/", "https://192.168.0.1/",
    "https://\uff11\uff12\uff17.0.0.1/",  # full-width digits: IDNA maps them to 127.0.0.1
]  # fmt: skip


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_addresses_refused(url: str, dns: FakeDns) -> None:
    assert "non-public address" in refused(url)
    assert dns.calls == []  # an IP literal is never looked up


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_addresses_allowed_with_allow_private(url: str, dns: FakeDns) -> None:
    assert check_webhook_url(url, allow_private=True).startswith("https://")


@pytest.mark.parametrize(
    "url",
    ["https://localhost/", "https://LOCALHOST./", "https://foo.localhost/", "https://metadata.google.internal/",
     "https://metadata/computeMetadata/v1/", "https://ip-10-0-0-1.ec2.internal/", "https://printer.local/",
     "https://router.home.arpa/", "https://intranet/"],
)  # fmt: skip
def test_internal_names_refused_without_lookup(url: str, dns: FakeDns) -> None:
    assert "internal host name" in refused(url)
    assert dns.calls == []


def test_numeric_looking_names_that_are_not_addresses_refused(dns: FakeDns) -> None:
    for url in ("https://08.0.0.1/", "https://1.2.3.4.5/", "https://256.0.0.1/", "https://example.0x7f/"):
        assert "not a valid IP address or host name" in refused(url)
    assert dns.calls == []


# --- check_webhook_url: DNS ------------------------------------------------------------------------------------


def test_public_url_accepted(dns: FakeDns) -> None:
    assert check_webhook_url("https://hooks.example.com/x", allow_private=False) == "https://hooks.example.com/x"
    assert dns.calls == ["hooks.example.com"]


def test_public_url_normalised(dns: FakeDns) -> None:
    got = check_webhook_url("HTTPS://Hooks.Example.COM:8443/a/b?x=1&y=\u00fc#frag", allow_private=False)
    assert got == "https://hooks.example.com:8443/a/b?x=1&y=%C3%BC"
    assert check_webhook_url("https://[2606:4700:4700:0::1111]/h", allow_private=False) == (
        "https://[2606:4700:4700::1111]/h"
    )
    assert check_webhook_url("https://v6.example.com/h", allow_private=False) == "https://v6.example.com/h"


def test_name_resolving_to_private_refused(dns: FakeDns) -> None:
    assert "10.0.0.5" in refused("https://internal.example.com/hook")
    assert "::1" in refused("https://loop6.example.com/hook")
    assert "non-public" in refused("https://mapped.example.com/hook")


@pytest.mark.parametrize("host", ["mixed.example.com", "mixed-order.example.com"])
def test_one_public_and_one_private_answer_refused(host: str, dns: FakeDns) -> None:
    assert "non-public address" in refused(f"https://{host}/hook")


def test_unresolvable_name_refused(dns: FakeDns) -> None:
    assert "does not resolve" in refused("https://nothing.example.com/hook")
    assert "does not resolve" in refused("https://nothing.example.com/hook", allow_private=True)


# --- check_webhook_url: shape ----------------------------------------------------------------------------------


def test_http_refused_unless_allow_private(dns: FakeDns) -> None:
    assert refused("http://hooks.example.com/x") == "must use https"
    assert check_webhook_url("http://hooks.example.com/x", allow_private=True) == "http://hooks.example.com/x"


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://x.example.com/",
                                 "javascript:alert(1)", "hooks.example.com/x", "//hooks.example.com/x"])  # fmt: skip
def test_other_schemes_refused(url: str, dns: FakeDns) -> None:
    assert refused(url, allow_private=True) == "must use https"


@pytest.mark.parametrize(
    "url",
    ["https://user:pass@hooks.example.com/", "https://user@hooks.example.com/", "https://:pw@hooks.example.com/",
     "https://hooks.example.com@127.0.0.1/", "https://@hooks.example.com/"],
)  # fmt: skip
def test_userinfo_refused(url: str, dns: FakeDns) -> None:
    assert "credentials" in refused(url, allow_private=True)


@pytest.mark.parametrize("url", ["https:///x", "https://", "https://:443/x"])
def test_host_required(url: str, dns: FakeDns) -> None:
    assert refused(url) == "must include a host"


@pytest.mark.parametrize("url", ["https://hooks.example.com:0/", "https://hooks.example.com:65536/",
                                 "https://hooks.example.com:99999/", "https://hooks.example.com:abc/"])  # fmt: skip
def test_bad_ports_refused(url: str, dns: FakeDns) -> None:
    message = refused(url)
    assert "port" in message


def test_port_bounds_accepted(dns: FakeDns) -> None:
    assert check_webhook_url("https://hooks.example.com:1/", allow_private=False) == "https://hooks.example.com:1/"
    assert check_webhook_url("https://hooks.example.com:65535/", allow_private=False).endswith(":65535/")


def test_length_limit(dns: FakeDns) -> None:
    base = "https://hooks.example.com/"
    assert check_webhook_url(base + "a" * (2048 - len(base)), allow_private=False)
    assert "2048" in refused(base + "a" * (2049 - len(base)))


@pytest.mark.parametrize("url", ["", "https://hooks.example.com/a b", "https://hooks.example.com/\n",
                                 " https://hooks.example.com/", "https://hooks.exa\tmple.com/",
                                 "https://hooks..example.com/", "https://hook$.example.com/",
                                 "https://[not-an-ip]/", "https://[::1/"])  # fmt: skip
def test_malformed_refused(url: str, dns: FakeDns) -> None:
    refused(url, allow_private=True)


def test_allow_private_accepts_local_http_receiver(dns: FakeDns) -> None:
    assert check_webhook_url("http://127.0.0.1:8080/hook", allow_private=True) == "http://127.0.0.1:8080/hook"
    assert check_webhook_url("http://localhost:8080/hook", allow_private=True) == "http://localhost:8080/hook"
    assert check_webhook_url("http://[::1]:8080/hook", allow_private=True) == "http://[::1]:8080/hook"
    assert check_webhook_url("http://0x7f.1:8080/hook", allow_private=True) == "http://127.0.0.1:8080/hook"
    assert check_webhook_url("http://internal.example.com/", allow_private=True) == "http://internal.example.com/"


# --- resolve_pinned --------------------------------------------------------------------------------------------


def test_resolve_pinned_returns_every_checked_answer(dns: FakeDns) -> None:
    got = resolve_pinned("v6.example.com", 443, allow_private=False)
    assert got == [ipaddress.ip_address("2606:4700:4700::1111"), ipaddress.ip_address("93.184.216.34")]
    assert resolve_pinned("0x5d.0xb8.0xd8.0x22", 443, allow_private=False) == [ipaddress.ip_address("93.184.216.34")]


def test_resolve_pinned_refuses_any_non_public_answer(dns: FakeDns) -> None:
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.5"):
        resolve_pinned("mixed.example.com", 443, allow_private=False)
    with pytest.raises(BlockedAddress, match="not a public address"):
        resolve_pinned("2130706433", 443, allow_private=False)
    with pytest.raises(BlockedAddress, match="internal host name"):
        resolve_pinned("localhost", 443, allow_private=False)
    assert resolve_pinned("mixed.example.com", 443, allow_private=True) == [
        ipaddress.ip_address("93.184.216.34"),
        ipaddress.ip_address("10.0.0.5"),
    ]


def test_resolve_pinned_unresolvable(dns: FakeDns) -> None:
    with pytest.raises(UnresolvableHost) as info:
        resolve_pinned("nothing.example.com", 443, allow_private=True)
    assert isinstance(info.value, BlockedAddress)
    assert "does not resolve" in info.value.reason
