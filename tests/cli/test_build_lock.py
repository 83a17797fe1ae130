"""Two processes building the same component take turns: the second waits for the first and
then finds the module up to date (they used to run the build command at once, writing the
same output and build directory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.guests import wat

CLI = [sys.executable, "-m", "wasm_server.cli.main"]

# fails (exit 3) when another copy of itself is running: a build that must not overlap
BUILD = """\
set -e
if [ -e running ]; then echo overlap >> overlaps; exit 3; fi
touch running
sleep 1
cp module.bin app.wasm
echo built >> builds
rm running
"""


def test_concurrent_builds_of_one_component_take_turns(tmp_path: Path) -> None:
    (tmp_path / "module.bin").write_bytes(wat.guest())
    (tmp_path / "build.sh").write_text(BUILD)
    (tmp_path / "wasm-server.toml").write_text(
        '[[component]]\nname = "app"\nsource = "app.wasm"\nroutes = ["/..."]\n'
        '[component.build]\ncommand = "sh build.sh"\nwatch = ["build.sh"]\n')
    procs = [subprocess.Popen([*CLI, "build", str(tmp_path), "--no-precompile"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert not (tmp_path / "overlaps").exists()
    assert (tmp_path / "builds").read_text() == "built\n"  # the second found it up to date
    assert sorted(o.splitlines()[-1] for o in outputs) == ["0 component(s) built, 1 up to date",
                                                          "1 component(s) built, 0 up to date"]
