"""``wasm-server deploy / undeploy / ls / logs``: the admin API from the command line.

    wasm-server deploy [PATH] [--name NAME] [--admin URL] [--token TOKEN] [--no-build]
    wasm-server undeploy NAME
    wasm-server ls
    wasm-server logs NAME [--limit N]

URL defaults to $WASM_SERVER_ADMIN_URL or http://127.0.0.1:9090; the token to
$WASM_SERVER_ADMIN_TOKEN; for an https:// URL, --cacert (or
$WASM_SERVER_ADMIN_CACERT) names the CA to trust.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, WasmServerError

DEFAULT_URL = "http://127.0.0.1:9090"


class AdminError(WasmServerError):
    """The admin API refused or could not be reached."""


def _call(method: str, url: str, token: str | None, path: str, body: Any = None) -> Any:
    import httpx

    cacert = os.environ.get("WASM_SERVER_ADMIN_CACERT")
    if not token:
        raise AdminError("no admin token: pass --token or set $WASM_SERVER_ADMIN_TOKEN")
    try:
        r = httpx.request(method, url.rstrip("/") + path, json=body, timeout=120,
                          headers={"authorization": f"Bearer {token}"}, verify=cacert or True)
    except httpx.HTTPError as exc:
        raise AdminError(f"cannot reach the admin API at {url}: {exc}") from None
    try:
        doc = r.json()
    except ValueError:
        doc = {"error": r.text.strip()}
    if r.status_code >= 400:
        raise AdminError(f"{r.status_code}: {doc.get('error', doc)}")
    return doc


def upload(path: Path) -> tuple[str, str, dict[str, str]]:
    """``(app name, manifest text, {relative file: base64})`` for the app at ``path``."""
    from ..manifest import load_manifest, resolve_manifest_path

    manifest_path = resolve_manifest_path(path)
    text = manifest_path.read_text()
    if "[[include]]" in text:
        raise ConfigError("apps with [[include]] cannot be deployed yet: deploy each included app", file=str(path))
    spec = load_manifest(manifest_path)
    root = manifest_path.parent.resolve()
    files: dict[str, str] = {}
    for comp in spec.components:
        try:
            rel = comp.source.resolve().relative_to(root)
        except ValueError:
            raise ConfigError(f"component '{comp.name}': {comp.source} is outside {root}; "
                              "a deployment carries only files beside its manifest") from None
        files[str(rel)] = base64.b64encode(comp.source.read_bytes()).decode()
    return spec.name, text, files


def main(command: str, args: argparse.Namespace) -> int:
    """Run one client command; prints JSON-derived text, raises AdminError/ConfigError."""
    url = args.admin or os.environ.get("WASM_SERVER_ADMIN_URL", DEFAULT_URL)
    if args.cacert:
        os.environ["WASM_SERVER_ADMIN_CACERT"] = args.cacert
    token = args.token or os.environ.get("WASM_SERVER_ADMIN_TOKEN")
    if command == "deploy":
        path = Path(args.path)
        if not args.no_build:
            from ..build import build_app
            from ..manifest import load_manifest

            build_app(load_manifest(path))
        name, manifest, files = upload(path)
        name = args.name or name
        doc = _call("PUT", url, token, f"/v1/apps/{name}", {"manifest": manifest, "files": files})
        routes = [r for c in doc["components"] for r in c["routes"]]
        print(f"deployed {doc['name']} version {doc['version']}: {', '.join(routes) or 'no routes'}")
    elif command == "undeploy":
        _call("DELETE", url, token, f"/v1/apps/{args.name}")
        print(f"undeployed {args.name}")
    elif command == "ls":
        doc = _call("GET", url, token, "/v1/apps")
        if not doc["apps"]:
            print("no apps deployed")
        for app in doc["apps"]:
            comps = ", ".join(f"{c['name']} ({c['requests']} requests)" for c in app["components"])
            print(f"{app['name']:<24} v{app['version']:<4} {app['source']:<13} {comps}")
    elif command == "logs":
        doc = _call("GET", url, token, f"/v1/apps/{args.name}/logs?limit={args.limit}")
        for line in doc["lines"]:
            print(f"{line['time']} {line['level']:<7} [{line['component']}] {line['message']}")
    else:
        raise AssertionError(command)
    sys.stdout.flush()
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The four subcommands."""
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--admin", metavar="URL", help=f"admin API (default $WASM_SERVER_ADMIN_URL or {DEFAULT_URL})")
        p.add_argument("--token", help="admin token (default $WASM_SERVER_ADMIN_TOKEN)")
        p.add_argument("--cacert", metavar="FILE",
                       help="CA to trust for an https:// admin URL (default $WASM_SERVER_ADMIN_CACERT)")

    deploy = sub.add_parser("deploy", help="deploy an app through a server's admin API")
    deploy.add_argument("path", nargs="?", default=".")
    deploy.add_argument("--name", help="deploy under this name (default: the manifest's app name)")
    deploy.add_argument("--no-build", action="store_true", help="do not run build commands first")
    common(deploy)
    undeploy = sub.add_parser("undeploy", help="stop serving a deployed app")
    undeploy.add_argument("name")
    common(undeploy)
    common(sub.add_parser("ls", help="list deployed apps"))
    logs = sub.add_parser("logs", help="recent log lines of a deployed app")
    logs.add_argument("name")
    logs.add_argument("--limit", type=int, default=100)
    common(logs)

