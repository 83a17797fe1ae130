"""``wasm-server cache info|prune``: the compiled-module cache on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

MiB = 1024 * 1024


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``cache`` subcommand and its two actions."""
    cache = sub.add_parser("cache", help="show or prune the compiled-module cache")
    actions = cache.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    for name, text in (("info", "where the cache is, how many modules, how many bytes, the bound"),
                       ("prune", "remove the least recently used modules until the rest fit the bound")):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--config", metavar="FILE", help="runtime config TOML ([server] cache_dir, cache_max_size)")
        action.add_argument("--cache-dir", metavar="DIR", help="the cache directory (default ~/.cache/wasm-server)")
        if name == "prune":
            action.add_argument("--max-size", metavar="SIZE",
                                help='keep at most SIZE bytes, e.g. "256MiB" or 0 to empty it '
                                     "(default: [server] cache_max_size, 512MiB)")


def main(args: argparse.Namespace) -> int:
    """Run ``cache info`` or ``cache prune``."""
    from ..config import load_runtime_config  # not at import: main._parser imports this module
    from ..engine.cache import entries, prune

    overrides = {"cache_dir": args.cache_dir}
    if getattr(args, "max_size", None) not in (None, "0"):
        overrides["cache_max_size"] = args.max_size
    config = load_runtime_config(Path(args.config) if args.config else None, overrides)
    directory = config.module_cache_dir
    if args.cache_action == "info":
        found = entries(directory)
        total = sum(e.size for e in found)
        print(f"{directory}: {len(found)} module(s), {total / MiB:.1f} MiB "
              f"(bound {config.cache_max_size / MiB:.0f} MiB)")
        return 0
    bound = 0 if args.max_size == "0" else config.cache_max_size
    result = prune(directory, bound)
    print(f"{directory}: removed {result.removed} module(s) ({result.removed_bytes / MiB:.1f} MiB), "
          f"kept {result.kept} ({result.kept_bytes / MiB:.1f} MiB)")
    return 0
