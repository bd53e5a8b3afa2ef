"""Other packages add `rag` commands by entry point: `rag eval` comes from eval/; the CLI never imports it."""

from __future__ import annotations

import logging
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

from eval.runner import add_parser, run_command
from rag.serving import cli

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_eval_registers_its_command_through_the_rag_commands_entry_point():
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][cli.COMMANDS]

    assert declared == {"eval": "eval.runner:add_parser"}


def test_a_registered_command_parses_and_runs_like_the_built_in_ones():
    args = cli.build_parser([add_parser]).parse_args(["eval", "--dataset", "eval/datasets/dev.jsonl", "--limit", "2"])

    assert args.run is run_command and args.limit == 2


def test_a_command_that_fails_to_load_is_left_out_and_the_rest_still_work(monkeypatch, caplog):
    broken = EntryPoint(name="broken", value="no_such_package.commands:add_parser", group=cli.COMMANDS)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken] if group == cli.COMMANDS else [])

    with caplog.at_level(logging.WARNING, logger="rag"):
        parser = cli.build_parser()

    assert "'broken'" in caplog.text and "leaving it out" in caplog.text
    assert parser.parse_args(["status"]).run is not None
