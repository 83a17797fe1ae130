"""``is_private`` / ``literal``: which addresses a host-name rule may never lead to."""

from __future__ import annotations

import ipaddress

import pytest

from wasm_server.capabilities.destinations import is_private, literal


@pytest.mark.parametrize("addr", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
    "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped: judged by the IPv4 address inside
])
def test_private_and_special_addresses_are_not_public(addr: str) -> None:
    assert is_private(ipaddress.ip_address(addr))


@pytest.mark.parametrize("addr", ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_are_public(addr: str) -> None:
    assert not is_private(ipaddress.ip_address(addr))


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "127.0.0.1"), ("[::1]", "::1"), ("::1", "::1"), ("example.com", None), ("1.2.3", None),
])
def test_literal_recognises_ip_literals_only(host: str, expected: str | None) -> None:
    found = literal(host)
    assert (str(found) if found is not None else None) == expected
