"""The ``wasm-server`` argument parser: global options before or after the subcommand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wasm_server.cli.main import _parser


@pytest.mark.parametrize("argv", [["--debug", "up", "app"], ["up", "--debug", "app"], ["up", "app", "--debug"],
                                  ["--debug", "up", "--debug", "app"]])
def test_debug_is_accepted_before_or_after_the_subcommand(argv: list[str]) -> None:
    args = _parser().parse_args(argv)
    assert args.command == "up" and args.path == "app" and args.debug is True


def test_a_subcommand_does_not_clobber_a_global_option_given_before_it() -> None:
    assert _parser().parse_args(["--debug", "build", "."]).debug is True
    assert _parser().parse_args(["build", "."]).debug is False


@pytest.mark.parametrize("argv", [["build", "."], ["deploy", "."], ["ls"], ["logs", "app"], ["undeploy", "app"],
                                  ["dev-cert", "dir"], ["new", "c", "svc"]])
def test_every_subcommand_takes_the_global_options(argv: list[str]) -> None:
    assert _parser().parse_args([*argv, "--debug"]).debug is True


def test_up_debug_is_not_refused_by_the_command() -> None:
    # a manifest that does not exist: the command gets past argument parsing and fails on the path
    out = subprocess.run([sys.executable, "-m", "wasm_server.cli.main", "up", "--debug", "/nonexistent/app"],
                         capture_output=True, text=True, timeout=60)
    assert "unrecognized arguments" not in out.stderr
    assert out.returncode != 0 and "/nonexistent/app" in out.stderr
