"""Entry point of the ``wasm-server`` command.

Each subcommand's modules are imported inside the branch that runs it, never at the top:
``--version`` and ``--help`` then load no engine, and ``up`` only what serving needs
(start-up time; tests/cli/test_startup_imports.py lists what a plain ``up`` imports).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import __version__
from ..errors import ConfigError, WasmServerError

DESCRIPTION = """\
Run web services compiled to WebAssembly.

  wasm-server up [PATH]          build what is stale, then serve the app at PATH
  wasm-server build [PATH]       build the app's components
  wasm-server new LANG NAME      start a new service from a template (c, cpp, rust, go, ts, python, js)
  wasm-server doctor [LANG ...]  which languages this machine can build, and how to install the rest
  wasm-server deploy [PATH]      deploy an app through a running server's admin API
  wasm-server studio [DIR]       a web studio: write, build, try in the browser and deploy services
  wasm-server cache prune        bound the compiled-module cache (cache info: its size)

PATH is a wasm-server.toml manifest or a directory holding one (default: .).
Components serve HTTP routes, WebSockets, and raw TCP/UDP listeners declared
in the manifest; see docs/manifest.md. The admin API, HTTPS and cluster mode
are described in docs/admin.md and docs/operations.md.

examples:
  wasm-server up examples/gallery --map-port 7=7007 --map-port 53=5353
  wasm-server up my-service --listen 127.0.0.1:8081 --listen [::1]:8081 --workers 2
  wasm-server up my-service --watch                  # redeploy on change, no dropped request
  wasm-server up --admin 127.0.0.1:9090 --cluster redis://127.0.0.1:6379/0
"""


def _add_global_options(p: argparse.ArgumentParser, *, sub_level: bool) -> None:
    """Options that work before or after the subcommand (``wasm-server --debug up`` and
    ``wasm-server up --debug``). A subcommand's copy defaults to SUPPRESS: argparse fills a
    subparser's defaults into the shared namespace after the top level parsed, so a plain
    ``False`` there would overwrite a ``--debug`` given before the subcommand."""
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if sub_level else False,
                   help="show tracebacks and debug logs")

#: toolchain wrappers: they take their own flags verbatim (not parsed here)
_TOOLS = {"cc": "c", "c++": "cpp", "cxx": "cpp", "cargo-build": "rust", "go-build": "go", "ts-build": "assemblyscript",
          "python": "python", "js": "js"}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """The help formatter, given the terminal width itself: argparse's default asks
    ``shutil.get_terminal_size()``, and importing shutil imports bz2, lzma and zlib too, for
    every ``up`` (argparse builds a formatter for each argument it adds)."""

    _terminal: int | None = None

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=self._terminal_width())

    @classmethod
    def _terminal_width(cls) -> int:
        if cls._terminal is None:  # what shutil.get_terminal_size() does, less the import
            fd = sys.__stdout__.fileno() if sys.__stdout__ else 1
            try:
                columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size(fd).columns
            except (ValueError, OSError):
                columns = 80
            cls._terminal = max(columns - 2, 20)  # argparse's own margin
        return cls._terminal


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help uses :class:`_Formatter` (subcommands' parsers too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


if TYPE_CHECKING:
    Sub = argparse._SubParsersAction[argparse.ArgumentParser]


def _add_up(sub: Sub) -> None:
    up = sub.add_parser("up", help="build stale components and serve the app")
    up.add_argument("path", nargs="?", default=None,
                    help="manifest file or directory (default: ., or none with --cluster: serve what is deployed)")
    up.add_argument("--listen", action="append", metavar="ADDR",
                    help="address to serve on, repeatable: 127.0.0.1:8080, [::1]:8080 (default 127.0.0.1:8080)")
    up.add_argument("--data-dir", metavar="DIR",
                    help="where KV data lives (default: .wasm-server/ beside the manifest)")
    up.add_argument("--config", metavar="FILE", type=Path,
                    help="runtime config TOML: [server] (listen, cache_max_size, pool_* …), [tls], [admin], "
                         "[cluster], [key_value_store.*]; every key in docs/operations.md, unknown keys refused")
    up.add_argument("--no-build", action="store_true", help="do not run build commands")
    up.add_argument("--workers", type=int, metavar="N",
                    help="worker processes sharing the ports with SO_REUSEPORT (default 1)")
    up.add_argument("--watch", action="store_true",
                    help="rebuild and redeploy when the manifest, a module or a build source changes, "
                         "without dropping requests")
    up.add_argument("--listen-tls", action="append", metavar="ADDR",
                    help="serve HTTPS on ADDR too, repeatable (needs --cert/--key or [[tls.certificates]])")
    up.add_argument("--cert", metavar="FILE", help="the default TLS certificate chain (PEM)")
    up.add_argument("--key", metavar="FILE", help="its private key (PEM)")
    up.add_argument("--redirect-https", action="store_true",
                    help="plain-HTTP listeners answer 308 to the first HTTPS listener")
    up.add_argument("--admin", metavar="ADDR",
                    help="serve the admin API (deploy, status, logs, /metrics) on ADDR, e.g. 127.0.0.1:9090; "
                         "every call needs the token ($WASM_SERVER_ADMIN_TOKEN, [admin] token, or generated)")
    up.add_argument("--admin-tls", action="store_true",
                    help="serve the admin API over HTTPS with the --cert/--key certificate")
    up.add_argument("--cluster", metavar="REDIS_URL", nargs="?", const="",
                    help="share deployed apps and pub/sub messages with every node using this Redis "
                         "(redis://HOST:PORT/DB; "
                         "default: [cluster] redis_url or $WASM_SERVER_CLUSTER_REDIS)")
    up.add_argument("--log-format", choices=["text", "json"],
                    help="log lines as text (default) or one JSON object per line")
    up.add_argument("--no-access-log", action="store_true",
                    help="do not write the access log (one line per request: time, client, method, target, "
                         "status, bytes, duration, component, request id; JSON under --log-format json)")
    up.add_argument("--max-connections", type=int, metavar="N",
                    help="open HTTP connections per worker; past it new ones get 503 (default 10000)")
    up.add_argument("--map-port", action="append", metavar="PORT=[HOST:]PORT",
                    help="serve a TCP/UDP listener the manifest puts on PORT elsewhere, repeatable: "
                         "53=5353, 7=127.0.0.1:7007")


def _add_build(sub: Sub) -> None:
    build = sub.add_parser("build", help="build the app's components")
    build.add_argument("path", nargs="?", default=".")
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.add_argument("--config", metavar="FILE", type=Path,
                       help="runtime config TOML: its [server] cache_dir is where modules are precompiled")
    build.add_argument("--no-precompile", action="store_true",
                       help="do not compile the modules into the compile cache (then the first `up` does)")


def _add_new(sub: Sub) -> None:
    new = sub.add_parser("new", help="create a service from a template")
    new.add_argument("lang", help="template language: c, cpp, rust, go, ts, python or js")
    new.add_argument("name", help="directory and component name")
    new.add_argument("--dir", type=Path, default=Path("."), help="parent directory (default: .)")


def _add_doctor(sub: Sub) -> None:
    doctor = sub.add_parser("doctor", help="list each language's toolchain: found, version, how to install it")
    doctor.add_argument("langs", nargs="*", metavar="LANG",
                        help="only these (c, cpp, go, rust, ts, python, js); exit status 1 if one is missing")
    doctor.add_argument("--json", action="store_true", help="one JSON document instead of text")


def _add_tools(sub: Sub) -> None:
    sub.add_parser("cc", help="compile C to a wasm-server module (zig cc, wasm32-wasi)", add_help=False)
    sub.add_parser("c++", aliases=["cxx"], help="compile C++ to a wasm-server module (zig c++, libc++)", add_help=False)
    sub.add_parser("cargo-build", help="build a Rust crate to a wasm-server module", add_help=False)
    sub.add_parser("go-build", help="build a Go package to a wasm-server module (GOOS=wasip1)", add_help=False)
    sub.add_parser("ts-build", help="build AssemblyScript (TypeScript) to a wasm-server module", add_help=False)
    sub.add_parser("python", help="build a Python app to a wasi:http component (componentize-py)", add_help=False)
    sub.add_parser("js", help="build a JavaScript app to a wasi:http component (componentize-js)", add_help=False)


def _add_client(sub: Sub) -> None:
    from .client import add_parsers

    add_parsers(sub)


def _add_cache(sub: Sub) -> None:
    from .cache import add_parser

    add_parser(sub)


def _add_studio(sub: Sub) -> None:
    from .studio import add_parser

    add_parser(sub)


def _add_dev_cert(sub: Sub) -> None:
    cert = sub.add_parser("dev-cert", help="write a local CA and a certificate for localhost, 127.0.0.1 and ::1")
    cert.add_argument("dir", help="where to write ca.pem, cert.pem and key.pem")
    cert.add_argument("--name", action="append", help="another DNS name or IP for the certificate, repeatable")
    cert.add_argument("--force", action="store_true", help="replace existing files")


#: each subcommand's parser, in the order --help lists them (one function may add several)
_ADDERS: dict[str, Callable[[Sub], None]] = {
    "up": _add_up, "build": _add_build, "new": _add_new, "doctor": _add_doctor,
    **dict.fromkeys(["cc", "c++", "cxx", "cargo-build", "go-build", "ts-build", "python", "js"], _add_tools),
    **dict.fromkeys(["deploy", "undeploy", "ls", "logs"], _add_client),
    "cache": _add_cache, "dev-cert": _add_dev_cert, "studio": _add_studio,
}


def _command_of(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not an option: the global
    options take no value), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; with a known ``command``, only that subcommand's arguments are
    added (building all of them is most of what parsing costs: start-up time), otherwise
    every subcommand's, so ``--help`` and an unknown command list them all."""
    p = _Parser(prog="wasm-server", description=DESCRIPTION)
    p.add_argument("--version", action="version", version=f"wasm-server {__version__}")
    _add_global_options(p, sub_level=False)
    # _Parser is an ArgumentParser; the cast only tells mypy what every adder takes
    sub = cast("Sub", p.add_subparsers(dest="command", metavar="COMMAND"))
    adder = _ADDERS.get(command or "")
    for add in [adder] if adder is not None else dict.fromkeys(_ADDERS.values()):
        add(sub)
    _share_global_options(sub)
    return p


def _share_global_options(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Give every subcommand (and sub-subcommand, like ``cache prune``) the global options."""
    for name, command in sub.choices.items():
        if name in _TOOLS:
            continue  # the toolchain wrappers pass their flags through verbatim
        _add_global_options(command, sub_level=True)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _share_global_options(action)


def _setup_logging(debug: bool, level: str = "info", fmt: str = "text") -> None:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if fmt == "json":
        from ..logformat import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())


def _dispatch(args: argparse.Namespace, rest: list[str]) -> int:
    from ..build import build_app
    from ..manifest import load_manifest

    if args.command == "cache":
        from .cache import main as cache_main

        return cache_main(args)
    if args.command == "studio":
        from .studio import main as studio_main

        _setup_logging(args.debug)
        return studio_main(args)
    if args.command == "dev-cert":
        from .devcert import main as devcert_main

        return devcert_main(args)
    if args.command in ("deploy", "undeploy", "ls", "logs"):
        from .client import main as client_main

        return client_main(args.command, args)
    if args.command == "up":
        from ..config import load_runtime_config
        from .serve import run

        config = load_runtime_config(args.config, {"listen": args.listen, "data_dir": args.data_dir,
                                                    "map_ports": args.map_port, "workers": args.workers,
                                                    "max_connections": args.max_connections,
                                                    "admin": args.admin, "cluster_redis": args.cluster,
                                                    "log_format": args.log_format, "listen_tls": args.listen_tls,
                                                    "tls_cert": args.cert, "tls_key": args.key,
                                                    "redirect_https": args.redirect_https,
                                                    "admin_tls": args.admin_tls})
        if args.no_access_log:
            import dataclasses

            config = dataclasses.replace(config, access_log=False)
        _setup_logging(args.debug, config.log_level, config.log_format)
        if args.cluster == "" and not config.clustered:
            raise ConfigError("--cluster needs a Redis URL (or [cluster] redis_url, or $WASM_SERVER_CLUSTER_REDIS, "
                              "or [cluster] cassandra_hosts and local_dc)")
        if args.path is None and (config.clustered or config.admin is not None):
            spec = None  # serve only what is deployed through the admin API
        else:
            spec = load_manifest(Path(args.path or "."))
            if not args.no_build:
                build_app(spec)
        run(spec, config, watch=args.watch, build=not args.no_build)
        return 0
    if args.command == "build":
        spec = load_manifest(Path(args.path))
        n = build_app(spec, force=args.force)
        print(f"{n} component(s) built, {len(spec.components) - n} up to date", file=sys.stderr)
        if not args.no_precompile:
            from ..app import precompile
            from ..config import load_runtime_config

            config = load_runtime_config(args.config, {})
            _setup_logging(args.debug)  # the compile cache says what it compiles and how long it took
            compiled = precompile(spec, config.module_cache_dir, pool=config.pool,
                                  cache_max_size=config.cache_max_size)
            print(f"{compiled} module(s) compiled into {config.module_cache_dir}, "
                  f"{len(spec.components) - compiled} already there", file=sys.stderr)
        return 0
    if args.command == "doctor":
        from .doctor import main as doctor_main

        return doctor_main(args.langs, args.json)
    if args.command == "new":
        from .new import create

        target = create(args.lang, args.name, args.dir)
        print(f"created {target}\nnext: wasm-server up {target}", file=sys.stderr)
        return 0
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line and exit non-zero (no traceback)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _TOOLS:
        import importlib

        tool = importlib.import_module(f"wasm_server.toolchain.{_TOOLS[argv[0]]}")
        try:
            return int(tool.main(argv[1:]))
        except WasmServerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
    if argv == ["--version"]:  # without the parser: the most common scripted call (start-up time)
        print(f"wasm-server {__version__}")
        return 0
    parser = _parser(_command_of(argv))
    args, rest = parser.parse_known_args(argv)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _dispatch(args, rest)
    except WasmServerError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
