"""The ``rnn-course`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``configure(parser)`` (adds its arguments) and
``run(args) -> int`` (the exit code). Each imports its heavy dependencies only in ``run``, so
``rnn-course release`` does not pay for torch, nor ``rnn-course grade`` for matplotlib. A subcommand whose
module cannot be imported is an installation error and fails with its traceback.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import sys

SUBCOMMANDS = {
    "grade": ("rnn_helpers.grader.command", "autograde a folder or zip of submissions into grades.csv and feedback"),
    "release": ("rnn_helpers.grader.release", "regenerate exercises/ from solutions/ with nbgrader"),
    "applications": ("rnn_helpers.applications.results_report", "retrain chapter 06's models and report them beside their baselines"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-course", description="Tools of the open RNN course.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .startup import skip_slow_optional_imports

    skip_slow_optional_imports()
    args = build_parser().parse_args(argv)
    code = int(importlib.import_module(args._module).run(args) or 0)
    if argv is None:  # the rnn-course command itself, not a caller's main([...]): its process ends now
        end_without_collecting()
    return code


def end_without_collecting() -> None:
    """Leave every object alive now to the exit (``gc.freeze``). The interpreter's last collection would go
    over all of them (torch's, nbgrader's, the run's) only to free memory the OS takes back anyway: about 1 s of
    an ``rnn-course grade`` command here, longer than grading one student. What the command wrote is closed already
    (:mod:`.atomic_write`), and stdout and stderr are flushed at exit as always."""
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
