"""``wasm-server studio [DIR]``: the web studio (write, build, try, deploy) for the services in DIR."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .client import DEFAULT_URL as DEFAULT_ADMIN_URL

if TYPE_CHECKING:
    Sub = argparse._SubParsersAction[argparse.ArgumentParser]

DEFAULT_LISTEN = "127.0.0.1:8090"
DEFAULT_SERVER_URL = "http://127.0.0.1:8080"

EPILOG = """\
DIR holds the services: DIR itself if it has a wasm-server.toml, and each subdirectory
that has one. New services are created there (from the `wasm-server new` templates).

The studio writes files and runs builds for whoever reaches it, so it listens on
loopback by default. Listening anywhere else needs the admin token (--token or
$WASM_SERVER_ADMIN_TOKEN), and every API call must then carry it. Deploying uses the
same token against the admin API of the server given by --admin.

examples:
  wasm-server studio my-services
  wasm-server up --admin 127.0.0.1:9090 &        # a server to deploy to
  wasm-server studio . --admin http://127.0.0.1:9090 --server-url http://127.0.0.1:8080

docs/studio.md describes the studio, its API and its limits.
"""


def add_parser(sub: Sub) -> None:
    """The ``studio`` subcommand."""
    p = sub.add_parser("studio", help="a web studio to write, build, try and deploy services",
                       description="Serve a web studio for the services in DIR: edit their files, build them\n"
                                   "with the wasm-server toolchains, run them in the browser with mocked host\n"
                                   "calls, and deploy them to a running server.",
                       epilog=EPILOG)
    p.add_argument("dir", nargs="?", default=".", metavar="DIR",
                   help="the workspace directory (default: .; created if missing)")
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="ADDR",
                   help=f"address of the studio (default {DEFAULT_LISTEN}; off loopback it needs --token)")
    p.add_argument("--admin", metavar="URL",
                   help=f"admin API to deploy through (default $WASM_SERVER_ADMIN_URL or {DEFAULT_ADMIN_URL})")
    p.add_argument("--token", help="the admin token (default $WASM_SERVER_ADMIN_TOKEN): deploys, logs, "
                                   "and the studio's own API when it listens off loopback")
    p.add_argument("--server-url", metavar="URL",
                   help=f"where deployed apps are served, for their live URLs "
                        f"(default $WASM_SERVER_URL or {DEFAULT_SERVER_URL})")
    p.add_argument("--builds", type=int, default=1, choices=(1, 2),
                   help="builds that run at once (default 1; up to 8 more wait)")
    p.add_argument("--build-timeout", type=float, default=600.0, metavar="SECONDS",
                   help="a build running longer is killed (default 600)")


def main(args: argparse.Namespace) -> int:
    """Run the studio until Ctrl-C; ConfigError for bad options."""
    from ..config import parse_listen
    from ..studio.serve import StudioOptions, run

    options = StudioOptions(
        workspace=Path(args.dir),
        listen=parse_listen(args.listen),
        admin_url=args.admin or os.environ.get("WASM_SERVER_ADMIN_URL", DEFAULT_ADMIN_URL),
        token=args.token or os.environ.get("WASM_SERVER_ADMIN_TOKEN") or None,
        server_url=args.server_url or os.environ.get("WASM_SERVER_URL", DEFAULT_SERVER_URL),
        builds=args.builds,
        build_timeout=args.build_timeout,
    )
    run(options)
    return 0
