"""The ``rnn-course`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``configure(parser)`` (adds its arguments) and
``run(args) -> int`` (the exit code). Modules are imported only when their subcommand runs,
so ``rnn-course release`` does not pay for torch, nor ``rnn-course grade`` for matplotlib.
"""
from __future__ import annotations

import argparse
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
        try:
            importlib.import_module(module).configure(p)
        except ModuleNotFoundError as exc:  # a subcommand whose module is not built yet
            if not (exc.name and (module == exc.name or module.startswith(exc.name + "."))):
                raise
            p.set_defaults(_missing=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "_missing", False):
        print(f"rnn-course {args.command}: not available in this installation", file=sys.stderr)
        return 2
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
