"""HTTPS: dev-cert, curl --cacert, a certificate per SNI name, the HTTP→HTTPS redirect, bad files."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLI, ROOT, Server, free_port
from tests.e2e.wat_app import write_app
from tests.guests import wat
from wasm_server.cli.devcert import make
from wasm_server.net.tls import pick

Factory = Callable[..., Server]
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is needed")


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_app(tmp_path / "app", {"hello": (wat.guest(), 'routes = ["/..."]')})


def test_dev_cert_writes_a_ca_and_a_localhost_certificate_with_private_keys(tmp_path: Path) -> None:
    out = subprocess.run([*CLI, "dev-cert", str(tmp_path / "certs")], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert out.returncode == 0 and "curl --cacert" in out.stderr
    for name in ("ca.pem", "cert.pem", "key.pem", "ca-key.pem"):
        assert (tmp_path / "certs" / name).stat().st_size > 0
    assert (tmp_path / "certs" / "key.pem").stat().st_mode & 0o777 == 0o600
    again = subprocess.run([*CLI, "dev-cert", str(tmp_path / "certs")], capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "--force" in again.stderr


def test_https_with_curl_cacert_and_untrusted_clients_refused(server_factory: Factory, app: Path,
                                                              tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    make(certs, ["localhost", "127.0.0.1", "::1"])
    tls = free_port()
    server_factory(app, "--listen-tls", f"127.0.0.1:{tls}", "--cert", str(certs / "cert.pem"),
                   "--key", str(certs / "key.pem"))
    for host in ("localhost", "127.0.0.1"):
        r = curl("--cacert", str(certs / "ca.pem"), f"https://{host}:{tls}/x")
        assert r.returncode == 0 and r.stdout == "hi", r.stderr
    untrusted = curl(f"https://localhost:{tls}/x")
    assert untrusted.returncode != 0 and "certificate" in untrusted.stderr


def test_each_sni_name_gets_its_own_certificate(server_factory: Factory, app: Path, tmp_path: Path) -> None:
    make(tmp_path / "default", ["localhost"])
    make(tmp_path / "a", ["a.test"])
    make(tmp_path / "b", ["*.b.test"])
    config = tmp_path / "runtime.toml"
    config.write_text(f"""
[tls]
cert = "{tmp_path / 'default' / 'cert.pem'}"
key = "{tmp_path / 'default' / 'key.pem'}"

[[tls.certificates]]
hosts = ["a.test"]
cert = "a/cert.pem"
key = "a/key.pem"

[[tls.certificates]]
hosts = ["*.b.test"]
cert = "b/cert.pem"
key = "b/key.pem"
""")
    tls = free_port()
    server_factory(app, "--config", str(config), "--listen-tls", f"127.0.0.1:{tls}")
    for name, ca in (("a.test", "a"), ("www.b.test", "b"), ("localhost", "default")):
        ok = curl("--cacert", str(tmp_path / ca / "ca.pem"), "--resolve", f"{name}:{tls}:127.0.0.1",
                  f"https://{name}:{tls}/")
        assert ok.returncode == 0 and ok.stdout == "hi", (name, ok.stderr)
    wrong = curl("--cacert", str(tmp_path / "a" / "ca.pem"), "--resolve", f"www.b.test:{tls}:127.0.0.1",
                 f"https://www.b.test:{tls}/")
    assert wrong.returncode != 0  # b's certificate is not signed by a's CA: the right one was chosen


def test_plain_http_redirects_to_https_with_308(server_factory: Factory, app: Path, tmp_path: Path) -> None:
    make(tmp_path / "c", ["localhost", "127.0.0.1"])
    tls = free_port()
    s = server_factory(app, "--listen-tls", f"127.0.0.1:{tls}", "--cert", str(tmp_path / "c" / "cert.pem"),
                       "--key", str(tmp_path / "c" / "key.pem"), "--redirect-https")
    r = httpx.post(f"{s.url}/form?x=1", content=b"body")
    assert r.status_code == 308 and r.headers["location"] == f"https://127.0.0.1:{tls}/form?x=1"
    followed = curl("-L", "--cacert", str(tmp_path / "c" / "ca.pem"), f"{s.url}/there")
    assert followed.returncode == 0 and followed.stdout == "hi"


def test_a_key_that_does_not_match_its_certificate_fails_the_start(app: Path, tmp_path: Path) -> None:
    make(tmp_path / "one", ["localhost"])
    make(tmp_path / "two", ["localhost"])
    out = subprocess.run([*CLI, "up", str(app), "--no-build", "--listen", f"127.0.0.1:{free_port()}",
                          "--listen-tls", f"127.0.0.1:{free_port()}", "--cert", str(tmp_path / "one" / "cert.pem"),
                          "--key", str(tmp_path / "two" / "key.pem"), "--data-dir", str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "cannot use" in out.stderr and "Traceback" not in out.stderr
    missing = subprocess.run([*CLI, "up", str(app), "--no-build", "--listen-tls", f"127.0.0.1:{free_port()}",
                              "--cert", str(tmp_path / "nope.pem"), "--key", str(tmp_path / "nope.pem"),
                              "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_sni_selection_prefers_exact_names_and_wildcards_cover_one_label() -> None:
    exact, wild = object(), object()
    named = [("*.b.test", wild), ("a.b.test", exact)]
    assert pick("a.b.test", named) is exact  # type: ignore[arg-type]
    assert pick("X.B.TEST.", named) is wild  # type: ignore[arg-type]
    assert pick("x.y.b.test", named) is None  # type: ignore[arg-type]
    assert pick("b.test", named) is None  # type: ignore[arg-type]


def test_the_admin_api_over_tls(server_factory: Factory, app: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path / "c", ["localhost", "127.0.0.1"])
    monkeypatch.setenv("WASM_SERVER_ADMIN_TOKEN", "tls-token")
    admin = free_port()
    server_factory(app, "--admin", f"127.0.0.1:{admin}", "--admin-tls", "--cert", str(tmp_path / "c" / "cert.pem"),
                   "--key", str(tmp_path / "c" / "key.pem"))
    ca = str(tmp_path / "c" / "ca.pem")
    health = curl("--cacert", ca, f"https://127.0.0.1:{admin}/healthz")
    assert health.returncode == 0 and '"ok"' in health.stdout
    refused = curl("--cacert", ca, "-H", "authorization: Bearer wrong", f"https://127.0.0.1:{admin}/v1/apps")
    assert "wrong admin token" in refused.stdout
    listed = subprocess.run([*CLI, "ls", "--admin", f"https://127.0.0.1:{admin}", "--cacert", ca],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert listed.returncode == 0 and "hello" in listed.stdout, listed.stderr
    plain = curl(f"http://127.0.0.1:{admin}/healthz")
    assert plain.stdout == "" or plain.returncode != 0  # TLS only
