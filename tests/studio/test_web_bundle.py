"""The studio's web app: its node:test suite (pure logic) and the bundle scripts/setup builds into static/."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from tests.e2e.conftest import ROOT

WEB = ROOT / "wasm_server" / "studio" / "web"
STATIC = ROOT / "wasm_server" / "studio" / "static"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


class _Refs(HTMLParser):
    """Every src= and href= of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [value for name, value in attrs if name in ("src", "href") and value]


def _page_refs() -> list[str]:
    index = STATIC / "index.html"
    assert index.is_file(), f"{index} is missing: scripts/setup builds it (node {WEB / 'build.mjs'})"
    parser = _Refs()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser.refs


def test_node_suite_passes_with_every_test_run() -> None:
    assert (WEB / "node_modules" / "@codemirror" / "state").is_dir(), "run scripts/setup (npm ci in the studio's web/)"
    # the runner's suites (runner/tryrunner) need built guests: test_web_runner.py builds and runs them
    app_tests = sorted(f"test/{p.name}" for p in (WEB / "test").glob("*.test.mjs")
                       if p.name not in ("runner.test.mjs", "tryrunner.test.mjs"))
    out = subprocess.run(["node", "--test", *app_tests], cwd=WEB, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert out.returncode == 0, out.stdout + out.stderr
    counts = dict(re.findall(r"^# (pass|fail|skipped) (\d+)$", out.stdout, re.M))
    assert counts["fail"] == "0" and counts["skipped"] == "0" and int(counts["pass"]) >= 40


def test_bundle_has_the_page_and_every_asset_it_references() -> None:
    assets = [ref for ref in _page_refs() if ref.startswith("assets/")]
    assert {"assets/app.js", "assets/style.css"} <= set(assets)
    for ref in assets:
        path = STATIC / ref
        assert path.is_file() and path.stat().st_size > 0, f"index.html references {ref}, which the bundle lacks"
    app = (STATIC / "assets" / "app.js").read_text(encoding="utf-8")
    assert "assets/worker.js" in app  # the try panel's worker, a separate module beside app.js
    # the chunks the scripts import (the editor's languages load on demand), all beside them
    for script in (STATIC / "assets").glob("*.js"):
        for chunk in re.findall(r"[\"']\./([\w.-]+\.js)[\"']", script.read_text(encoding="utf-8")):
            assert (STATIC / "assets" / chunk).is_file(), f"{script.name} imports {chunk}, which the bundle lacks"
    if (WEB / "src" / "worker.mjs").exists():
        assert (STATIC / "assets" / "worker.js").stat().st_size > 0


def test_page_loads_nothing_from_other_sites() -> None:
    outside = [ref for ref in _page_refs() if not (ref.startswith(("assets/", "data:", "#")))]
    assert outside == []
    css = (STATIC / "assets" / "style.css").read_text(encoding="utf-8")
    assert "@import" not in css and not re.search(r"url\(\s*['\"]?(https?:)?//", css)


def test_bundle_is_newer_than_its_sources() -> None:
    built = (STATIC / "index.html").stat().st_mtime
    sources = [WEB / "index.html", WEB / "style.css", WEB / "build.mjs", *WEB.glob("src/*.mjs"),
               *(ROOT / "hosts" / "js").glob("*.mjs")]  # the runner worker bundles hosts/js
    stale = [str(p.relative_to(WEB)) for p in sources if p.stat().st_mtime > built]
    assert stale == [], f"static/ is older than {stale}: scripts/setup rebuilds it"
