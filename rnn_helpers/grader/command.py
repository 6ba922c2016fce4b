"""``rnn-course grade ASSIGNMENT SUBMISSIONS --out OUT [--db URL] [--unsafe]``: grade a whole class.

SUBMISSIONS is a folder in nbgrader's submitted layout (``<student>/<assignment>/<notebook>.ipynb``) or a zip
of one. The command writes ``OUT/grades.csv``, ``OUT/feedback/<student>/<assignment>/<notebook>.html`` and
(with the default SQLite gradebook) ``OUT/gradebook.db``, and prints a summary. It never changes SUBMISSIONS.

The first line on stderr says whether a grading secret is used (``--secret-file PATH``, else
``$RNN_COURSE_GRADING_SECRET``; the file wins when both are given) or the published seeds. Each student's result is
committed to ``OUT/.results`` as soon as it is known: run again into the same OUT (after Ctrl-C, ``kill -9``, new
submissions) and only the missing or changed students are graded; ``--regrade`` grades all. On a terminal a
progress bar shows the counts and the time left; otherwise one line per student.

``--jobs N`` grades N students at once, each in its own sandbox: one here, the others in N - 1 worker processes
(default: the cores this process may use);
``--scheduler ADDRESS`` sends them to the workers of a Dask cluster instead (:mod:`.dask_grading`). Either way
this process alone writes the gradebook and every output, the same files as ``--jobs 1``.

Exit codes: 0 when the batch was graded (broken submissions included: they score 0 with a reason);
2 for a wrong invocation (one line on stderr, nothing written).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    from .lms import LAYOUTS  # light: the layouts' names and file-name patterns

    parser.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name, e.g. 02_simple_rnn")
    parser.add_argument("submissions", metavar="SUBMISSIONS", type=pathlib.Path,
                        help="an LMS export (Canvas, Moodle, Blackboard, Gradescope) or a folder "
                             "<student>/<assignment>/<notebook>.ipynb, or a zip of either")
    parser.add_argument("--out", required=True, type=pathlib.Path, metavar="OUT",
                        help="folder for grades.csv, feedback/ and gradebook.db (created if missing)")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="gradebook database URL (default: a fresh SQLite gradebook, copied to OUT/gradebook.db)")
    parser.add_argument("--unsafe", action="store_true",
                        help="grade even where the kernel sandbox is unavailable (students' code runs as you)")
    parser.add_argument("--layout", metavar="NAME", default=None,
                        choices=list(LAYOUTS),
                        help="read SUBMISSIONS as this LMS's export (default: recognised from its file names)")
    parser.add_argument("--export", metavar="LMS", default=None,
                        help="also write OUT/grades_<LMS>.csv for that LMS's gradebook import: canvas (or "
                             "canvas=COLUMN TITLE) or moodle, keyed by the ids of its own export")
    parser.add_argument("--secret-file", type=pathlib.Path, metavar="PATH", default=None,
                        help="the term's grading secret (at least 16 bytes), from which every hidden case is "
                             "derived; default: $RNN_COURSE_GRADING_SECRET, else the published seeds")
    parser.add_argument("--regrade", action="store_true",
                        help="grade every student again, even those whose result OUT already holds")
    parser.add_argument("--jobs", type=_positive_int, metavar="N", default=None,
                        help="students graded at once, each in its own sandbox: one by this process, the others by "
                             "N - 1 worker processes "
                             "(default: the number of cores, here %d)" % default_jobs())
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="grade on a Dask cluster: the address of its scheduler (e.g. tcp://10.0.0.5:8786); "
                             "every worker needs the course installed at the same version, and root")
    parser.add_argument("--source-root", type=pathlib.Path, default=None, help=argparse.SUPPRESS)


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def source_root(explicit: pathlib.Path | None = None) -> pathlib.Path | None:
    """The course repository holding ``solutions/``: explicit, else as :func:`release.find_course_root` finds it
    (from the working directory up, then this package's checkout), else None."""
    if explicit is not None:
        return explicit
    from .release import find_course_root

    try:
        return find_course_root()
    except FileNotFoundError:
        return None


def run(args: argparse.Namespace) -> int:
    from .submissions import InvocationError

    try:
        return _run(args)
    except InvocationError as exc:
        print(f"rnn-course grade: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn-course grade: interrupted (the submissions are untouched; the students graded so far are kept "
              "in OUT/.results: run the same command again to grade the rest)", file=sys.stderr)
        return 130


def give_to_sudo_user(out: pathlib.Path) -> None:
    """Under ``sudo`` (which the sandbox needs), hand OUT back to the instructor who ran it: root-owned grades
    would need sudo again to edit or delete. Without sudo, or not as root, nothing to do."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if os.geteuid() != 0 or not uid or not uid.isdigit():
        return
    gid_n = int(gid) if gid and gid.isdigit() else -1
    for path in [out, *out.rglob("*")]:
        if not path.is_symlink():
            os.chown(path, int(uid), gid_n)


def _run(args) -> int:
    from rnn_helpers.checks.registry import ASSIGNMENTS
    from .submissions import InvocationError

    if args.assignment not in ASSIGNMENTS:
        raise InvocationError(f"unknown assignment {args.assignment!r} (expected one of {', '.join(ASSIGNMENTS)})")
    root = source_root(args.source_root)
    if root is None:
        raise InvocationError("cannot find the course's solutions/ folder (run from the course repository)")
    from . import grade_worker  # (the standard library only: cheap)

    jobs = args.jobs or default_jobs()
    if jobs > 1 and args.scheduler is None:
        grade_worker.prestart(jobs - 1)  # first: their imports overlap ours, below
    try:
        return _grade(args, root, jobs)
    finally:
        grade_worker.end_spares()  # those the run did not take (every student kept, a wrong invocation)


def _grade(args, root: pathlib.Path, jobs: int) -> int:
    from . import grades_csv
    from .grading_secret import read_secret
    from .pipeline import grade
    from .progress import Progress

    secret = read_secret(args.secret_file)

    def echo(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = grade(args.assignment, args.submissions, args.out, source_root=root, db_url=args.db,
                   unsafe=args.unsafe, echo=echo, layout=args.layout,
                   export=args.export, secret=secret, regrade=args.regrade,
                   jobs=jobs, scheduler=args.scheduler,
                   progress=lambda total, echo: Progress.for_stream(total, echo, sys.stderr))
    give_to_sudo_user(result.out)
    print(grades_csv.summary(result.students, sandboxed=result.sandboxed, sandbox_reason=result.sandbox_reason))
    print(f"{result.graded} student(s) graded by this run, {result.kept} kept from an earlier run into "
          f"{result.out} (--regrade grades all)")
    print(f"wrote {result.out / 'grades.csv'} and {result.out / 'feedback'}")
    if args.export:
        from .lms_export import parse_export

        print(f"wrote {result.out / ('grades_' + parse_export(args.export)[0] + '.csv')} for the LMS's gradebook import")
    return 0
