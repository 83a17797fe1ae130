"""Route matching: forms, specificity, hosts, methods, duplicates."""

from __future__ import annotations

import pytest

from wasm_server.errors import ConfigError
from wasm_server.routing import Match, MethodNotAllowed, Router, RouteSpec, normalize_host


def router(*patterns: str | RouteSpec) -> Router:
    return Router([p if isinstance(p, RouteSpec) else RouteSpec(p, p, origin=f"m.toml: {p}") for p in patterns])


def target(r: Router, path: str, method: str = "GET", host: str | None = None) -> str | None:
    m = r.match(method, host, path)
    return m.target if isinstance(m, Match) else None


def test_exact_prefix_param_and_catch_all() -> None:
    r = router("/about", "/api/...", "/users/{id}", "/...")
    assert target(r, "/about") == "/about"
    assert [target(r, p) for p in ("/api", "/api/", "/api/x/y")] == ["/api/..."] * 3
    assert target(r, "/apix") == "/..."
    assert target(r, "/users/42") == "/users/{id}"
    assert target(r, "/users/") == "/..."  # a parameter needs a non-empty segment
    assert target(r, "/users/1/2") == "/..."


def test_without_catch_all_unmatched_is_none() -> None:
    assert router("/a").match("GET", None, "/b") is None


@pytest.mark.parametrize(
    ("path", "winner"),
    [
        ("/api/v1/x", "/api/v1/..."),
        ("/api/v2", "/api/..."),
        ("/api/v1/users/7", "/api/v1/users/{id}"),
        ("/api/v1/users/me", "/api/v1/users/me"),
        ("/api/v1/users/7/files", "/api/v1/users/{id}/..."),
        ("/other", "/..."),
    ],
)
def test_most_specific_wins(path: str, winner: str) -> None:
    r = router("/...", "/api/...", "/api/v1/...", "/api/v1/users/{id}", "/api/v1/users/me", "/api/v1/users/{id}/...")
    assert target(r, path) == winner


def test_base_path_info_and_params_reach_the_match() -> None:
    r = router("/hello/c/...", "/users/{id}/files/{name}", "/d/{x}/...")
    m = r.match("GET", None, "/hello/c")
    assert isinstance(m, Match) and (m.base, m.path_info) == ("/hello/c", "")
    m = r.match("GET", None, "/hello/c/x?q=1")
    assert isinstance(m, Match) and (m.base, m.path_info) == ("/hello/c", "/x")
    m = r.match("GET", None, "/users/4/files/a%20b")
    assert isinstance(m, Match) and m.params == (("id", "4"), ("name", "a%20b")) and m.base == ""
    m = r.match("GET", None, "/d/9/rest/of")
    assert isinstance(m, Match) and (m.base, m.path_info, m.params) == ("/d/9", "/rest/of", (("x", "9"),))


def test_host_routes_win_and_match_case_and_port_insensitively() -> None:
    r = router(RouteSpec("/...", "any"), RouteSpec("/...", "ex", host="example.test"),
               RouteSpec("/...", "wild", host="*.wild.test"))
    assert target(r, "/", host="Example.TEST:8080") == "ex"
    assert target(r, "/", host="a.b.wild.test") == "wild"
    assert target(r, "/", host="wild.test") == "any"
    assert target(r, "/", host=None) == "any"
    assert normalize_host("[::1]:8080") == "[::1]"


def test_method_mismatch_is_405_with_allowed_methods() -> None:
    r = router(RouteSpec("/a", "get", methods=frozenset({"GET"})), RouteSpec("/a", "post", methods=frozenset({"POST"})),
               RouteSpec("/b/...", "put", methods=frozenset({"PUT", "DELETE"})))
    assert target(r, "/a", "POST") == "post"
    assert r.match("PATCH", None, "/a") == MethodNotAllowed(("GET", "POST"))
    assert r.match("GET", None, "/b/x") == MethodNotAllowed(("DELETE", "PUT"))


@pytest.mark.parametrize(
    ("a", "b"),
    [("/u/{a}", "/u/{b}"), ("/x", "/x"), ("/api/...", "/api/...")],
)
def test_overlapping_duplicates_are_refused_naming_both(a: str, b: str) -> None:
    with pytest.raises(ConfigError) as info:
        Router([RouteSpec(a, "one", origin="a.toml: routes[0]"), RouteSpec(b, "two", origin="b.toml: routes[3]")])
    assert "a.toml: routes[0]" in str(info.value) and "b.toml: routes[3]" in str(info.value)


def test_non_overlapping_same_pattern_is_fine() -> None:
    Router([RouteSpec("/a/...", "g", methods=frozenset({"GET"})), RouteSpec("/a/...", "p", methods=frozenset({"POST"})),
            RouteSpec("/a/...", "h", host="h.test")])


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("a", "start with"), ("/a/.../b", "last segment"), ("/a//b", "empty segment"), ("/{1x}", "identifier"),
     ("/{a}/{a}", "twice"), ("/x{a}", "mixes")],
)
def test_invalid_patterns_are_config_errors(pattern: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        router(pattern)
