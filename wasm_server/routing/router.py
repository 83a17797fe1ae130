"""Route matching: manifest patterns → component, as a pure function of the request.

Pattern forms: exact ``/about``; prefix wildcard ``/api/...`` (matches ``/api``,
``/api/`` and ``/api/x/y``, not ``/apix``); catch-all ``/...``; parameter
segments ``/users/{id}`` (one non-empty segment each), optionally ending in
``/...``.

Order, most specific first (the first route that matches wins):

1. routes with a ``host`` before routes without;
2. exact routes (no parameters, no wildcard);
3. more literal segments;
4. fewer wildcards: a parameter pattern before a prefix wildcard with the same
   number of literal segments;
5. more segments (a longer prefix before a shorter one);
6. manifest order.

Exact routes without parameters are found with one dict lookup.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ConfigError
from ..protocol.http1 import Headers
from .patterns import Pattern, compile_pattern


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route from the manifest."""

    pattern: str
    target: str
    host: str | None = None
    methods: frozenset[str] | None = None
    origin: str = ""
    #: the deployed app the route belongs to (one router serves every app of a process)
    app: str = ""


class Match(NamedTuple):
    """The route a request matched and what the guest learns from it (a NamedTuple:
    one is built per request)."""

    target: str
    route: str
    base: str
    path_info: str
    params: tuple[tuple[str, str], ...]
    app: str = ""


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path matched, the method did not: answer 405 with ``Allow``."""

    allowed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Route:
    spec: RouteSpec
    pattern: Pattern
    host: str | None


def normalize_host(host: str | None) -> str | None:
    """Lower-case, port stripped: ``Example.test:8080`` → ``example.test``, ``[::1]:80`` → ``[::1]``."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def _host_matches(rule: str, host: str | None) -> bool:
    if host is None:
        return False
    return rule == host or ("*" in rule and fnmatch.fnmatchcase(host, rule))


def _overlap(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    return a is None or b is None or bool(a & b)


class Router:
    """Immutable route table built once at load."""

    def __init__(self, routes: Sequence[RouteSpec]) -> None:
        compiled = [_Route(r, compile_pattern(r.pattern, r.origin), r.host.lower() if r.host else None) for r in routes]
        self._check_duplicates(compiled)
        order = sorted(range(len(compiled)), key=lambda i: (*self._rank(compiled[i]), i))
        self._routes = [compiled[i] for i in order]
        self._exact: dict[str, list[_Route]] = {}
        for r in self._routes:
            if r.host is None and r.pattern.is_exact:
                self._exact.setdefault(r.pattern.text, []).append(r)
        self._has_host_routes = any(r.host is not None for r in self._routes)
        # candidates by first path segment, in rank order: a request only tries
        # routes whose first segment is its own or not a literal
        firsts = {r.pattern.segments[0] for r in self._routes if r.pattern.segments} - {None}
        self._by_first: dict[str, list[_Route]] = {
            f: [r for r in self._routes if _first(r) in (f, None)] for f in firsts if f is not None
        }
        self._other = [r for r in self._routes if _first(r) is None]
        self._memo: dict[tuple[str, str | None, str], object] = {}

    @staticmethod
    def _rank(r: _Route) -> tuple[int, ...]:
        p = r.pattern
        return (
            0 if r.host is not None else 1,
            0 if p.is_exact else 1,
            -p.literals,
            p.params + (1 if p.wildcard else 0) * 2,
            -len(p.segments),
        )

    @staticmethod
    def _check_duplicates(routes: list[_Route]) -> None:
        seen: dict[tuple[str, str | None], list[_Route]] = {}
        for r in routes:
            key = (r.pattern.shape, r.host)
            for other in seen.get(key, []):
                if _overlap(r.spec.methods, other.spec.methods) and r.spec.app != other.spec.app:
                    raise ConfigError(
                        f"route '{r.spec.pattern}' of app '{r.spec.app}' overlaps '{other.spec.pattern}', already "
                        f"served by app '{other.spec.app}' (component '{other.spec.target}')"
                    )
                if _overlap(r.spec.methods, other.spec.methods):
                    raise ConfigError(
                        f"route '{r.spec.pattern}' (component '{r.spec.target}', {r.spec.origin}) overlaps "
                        f"'{other.spec.pattern}' (component '{other.spec.target}', {other.spec.origin})"
                    )
            seen.setdefault(key, []).append(r)

    @property
    def uses_hosts(self) -> bool:
        """Whether any route has a ``host``; if not, callers need not look the Host header up."""
        return self._has_host_routes

    def match_request(self, method: bytes, target: bytes, headers: Headers) -> Match | MethodNotAllowed | None:
        """:meth:`match` for a parsed request: HEAD is routed as GET, the Host header is read
        only when some route names a host."""
        host = None
        if self._has_host_routes:
            for name, value in headers:
                if name == b"host":
                    host = value.decode("latin-1")
                    break
        verb = "GET" if method == b"HEAD" else method.decode("latin-1")
        return self.match(verb, host, target.split(b"?", 1)[0].decode("latin-1"))

    def match(self, method: str, host: str | None, path: str) -> Match | MethodNotAllowed | None:
        """Find the route for a request; None if nothing matches the path.

        Results are memoized (the router is immutable and most traffic repeats a
        few paths); the memo is bounded and simply cleared when full."""
        key = (method, host, path)
        found = self._memo.get(key, _MISS)
        if found is _MISS:
            found = self._match(method, host, path)
            if len(path) > MEMO_MAX_PATH:
                return found
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found  # type: ignore[return-value]

    def _match(self, method: str, host: str | None, path: str) -> Match | MethodNotAllowed | None:
        path = path.split("?", 1)[0]
        allowed: set[str] = set()
        if not self._has_host_routes:
            for r in self._exact.get(path, ()):
                methods = r.spec.methods
                if methods is None or method in methods:
                    return Match(r.spec.target, r.spec.pattern, "", path, (), r.spec.app)
                allowed |= methods
        hostname = normalize_host(host) if self._has_host_routes else None
        first = path[1:].split("/", 1)[0]
        for r in self._by_first.get(first, self._other):
            if r.host is not None and not _host_matches(r.host, hostname):
                continue
            found = r.pattern.match(path)
            if found is None:
                continue
            methods = r.spec.methods
            if methods is not None and method not in methods:
                allowed |= methods
                continue
            base, path_info, params = found
            return Match(r.spec.target, r.spec.pattern, base, path_info, params, r.spec.app)
        return MethodNotAllowed(tuple(sorted(allowed))) if allowed else None

    @property
    def routes(self) -> list[RouteSpec]:
        """Routes in matching order."""
        return [r.spec for r in self._routes]


#: how many (method, host, path) results Router.match remembers
MEMO_SIZE = 4096
#: longer paths are matched every time (keeps the memo's memory small)
MEMO_MAX_PATH = 256
_MISS = object()


def _first(r: _Route) -> str | None:
    return r.pattern.segments[0] if r.pattern.segments else None


def routes_table(router: Router) -> list[tuple[str, str, str]]:
    """``(host or "*", pattern, target)`` rows in matching order, for start-up output."""
    return [(r.host or "*", r.pattern, r.target) for r in router.routes]
