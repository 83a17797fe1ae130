"""``allowed_outbound_hosts``: parsing entries (bug 5: a raw-socket entry needs a port) and matching."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wasm_server.capabilities.outbound_policy import AllowRule, OutboundPolicy, parse_rule
from wasm_server.errors import ConfigError, ErrorCode

MANIFEST = """
[[component]]
name = "client"
source = "client.wasm"
routes = ["/..."]
allowed_outbound_hosts = ["https://api.example.com", "{entry}"]
"""


@pytest.mark.parametrize(("entry", "rule"), [
    ("https://api.example.com", AllowRule("https", "api.example.com", "443")),
    ("http://API.Example.com/", AllowRule("http", "api.example.com", "80")),
    ("http://127.0.0.1:*", AllowRule("http", "127.0.0.1", "*")),
    ("https://*.example.org:8443", AllowRule("https", "*.example.org", "8443")),
    ("HTTPS://[::1]:8443", AllowRule("https", "::1", "8443")),
    ("https://[::1]", AllowRule("https", "::1", "443")),
    ("tcp://db.internal:5432", AllowRule("tcp", "db.internal", "5432")),
    ("udp://*:53", AllowRule("udp", "*", "53")),
    ("tcp://db.internal:*", AllowRule("tcp", "db.internal", "*")),
    ("*://svc.internal:8080", AllowRule("*", "svc.internal", "8080")),
])
def test_entries_parse_as_documented(entry: str, rule: AllowRule) -> None:
    assert parse_rule(entry) == rule


@pytest.mark.parametrize("entry", ["tcp://db.internal", "udp://*", "tcp://[fd00::1]", "*://svc.internal",
                                   "tcp://db.internal/"])
def test_a_non_http_entry_without_a_port_is_refused(entry: str) -> None:
    # regression (bug 5): "tcp://db.internal" allowed every port of the host
    with pytest.raises(ConfigError, match="names no port") as err:
        parse_rule(entry, file="wasm-server.toml", field="component 'client'.allowed_outbound_hosts[1]")
    message = str(err.value)
    assert f"'{entry}'" in message and "component 'client'.allowed_outbound_hosts[1]" in message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(("entry", "reason"), [
    ("api.example.com", "scheme://host"),
    ("https://", "scheme://host"),
    ("https://example.com/path", "scheme://host"),
    ("https://example.com:http", "not a number"),
    ("tcp://db:-1", "not a number"),
])
def test_malformed_entries_say_why(entry: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_rule(entry)


def test_the_manifest_refuses_a_port_less_tcp_entry_naming_component_and_entry(tmp_path: Path) -> None:
    path = tmp_path / "wasm-server.toml"
    path.write_text(MANIFEST.format(entry="tcp://db.internal"))
    proc = subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "up", str(path), "--no-build"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "component 'client'.allowed_outbound_hosts[1]" in proc.stderr
    assert "'tcp://db.internal' names no port" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("scheme", "host", "port", "allowed"), [
    ("tcp", "db.internal", 5432, True),
    ("tcp", "DB.internal", 5432, True),
    ("tcp", "db.internal", 5433, False),
    ("udp", "db.internal", 5432, False),
    ("tcp", "other.internal", 5432, False),
])
def test_rules_match_scheme_host_and_port(scheme: str, host: str, port: int, allowed: bool) -> None:
    assert parse_rule("tcp://db.internal:5432").matches(scheme, host, port) is allowed


def test_wildcards_in_host_and_port() -> None:
    rule = parse_rule("https://*.example.org:*")
    assert rule.matches("https", "a.example.org", 1)
    assert not rule.matches("https", "example.org", 443)  # "*." needs a sub-domain
    assert parse_rule("*://h:1").matches("udp", "h", 1)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.example.com/v1?q=1", None),
    ("https://api.example.com:443/", None),
    ("http://api.example.com/", ErrorCode.DENIED),  # the rule is https only
    ("https://api.example.com:8443/", ErrorCode.DENIED),
    ("https://evil.example.com/", ErrorCode.DENIED),
    ("ftp://api.example.com/", ErrorCode.INVALID),
    ("/relative", ErrorCode.INVALID),
    ("https://api.example.com:99999/", ErrorCode.INVALID),
])
def test_policy_check_of_urls(url: str, expected: ErrorCode | None) -> None:
    refused = OutboundPolicy((parse_rule("https://api.example.com"),)).check(url)
    assert (refused[0] if refused else None) == expected
