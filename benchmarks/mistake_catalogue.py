"""How the catalogue of typical mistakes is caught, per assignment: visible / named / generic / escapes.

    .venv/bin/python benchmarks/mistake_catalogue.py            # the table, then every mistake not caught well
    .venv/bin/python benchmarks/mistake_catalogue.py --all      # every mistake with what the student reads
    .venv/bin/python benchmarks/mistake_catalogue.py 02_simple_rnn 03_bptt

Each catalogued mistake (``rnn_helpers/grader/mistakes``) is played as a student's submission in-process
(``mistakes.caught.how_caught``): ``visible`` = the function's visible test fails with an assertion message;
``named`` = it passes there, a hidden check fails and the explainer names the mistake; ``generic`` = the cell fails
with a generic message only (a visible test that raises another exception: the cell stops before its hidden checks,
and the student reads "the test cell raised ValueError: ..."; or an explanation that does not name the mistake);
``escapes`` = the mistake earns the cell's points. The last two are the holes that ``tests/test_mistake_catalogue.py``
lists (``HOLES``). The table is Markdown, for benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter

from rnn_helpers.checks.registry import ASSIGNMENTS
from rnn_helpers.grader.explain import MistakeRunner
from rnn_helpers.grader.mistakes import catalogue
from rnn_helpers.grader.mistakes.caught import ESCAPES, GENERIC, NAMED, VISIBLE, how_caught

KINDS = (VISIBLE, NAMED, GENERIC, ESCAPES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--all", action="store_true", help="print every mistake, not only the holes")
    args = parser.parse_args()
    runner = MistakeRunner()
    rows, holes, lines = [], [], []
    start = time.perf_counter()
    for assignment in args.assignments:
        mistakes = catalogue(assignment)
        functions = runner.notebook(assignment).graded_functions()
        counts: Counter = Counter()
        for m in mistakes.values():
            caught = how_caught(assignment, m, runner)
            counts[caught.how] += 1
            line = f"- {assignment}:{m.id} [{caught.how}] {caught.detail[:200]}"
            lines.append(line)
            if caught.how in (GENERIC, ESCAPES):
                holes.append(line)
        rows.append((assignment, len(functions), len(mistakes), *(counts[k] for k in KINDS)))
    print("| assignment | graded functions | mistakes | visible | named | generic | escapes |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    total = [sum(r[i] for r in rows) for i in range(1, 7)]
    print("| all | " + " | ".join(map(str, total)) + " |")
    print(f"\n{total[1]} mistakes for {total[0]} graded functions ({total[1] / max(total[0], 1):.1f} per function), "
          f"classified in {time.perf_counter() - start:.0f} s.")
    print("\nNot caught well (generic or escapes):" if holes else "\nEvery mistake is caught visibly or named.")
    for line in lines if args.all else holes:
        print(line)


if __name__ == "__main__":
    main()
