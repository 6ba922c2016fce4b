"""Kernel side of the grading boundary: what the hidden tests import inside the student's kernel.

- ``registry``: the checks of every assignment (``Check``) and ``record_check``, the one call of a hidden test;
- ``records``: running a student's function on the cases and emitting what it returns as plain data;
- ``cases``: the seeded inputs and edge shapes the ``ch<assignment>`` modules build their cases from;
- ``seeds``: ``case_seed(assignment, check, index)``, the seed of every case (a per-term secret goes in there);
- ``compare``: how an output is compared with the reference's (the grader decides with it, in its own process);
- ``ch01_motivation`` ... ``ch06_applications``: each assignment's checks.

Everything here runs in the student's kernel, where the student's code ran first, so nothing here decides a
point: it only records. It imports numpy and the standard library, never the grader side (``rnn_helpers.grader``;
tests/test_checks_boundary.py says so) and never a reference implementation at import time (the grading build of
``rnn_helpers`` has none). The grader imports these modules too, to regenerate the same cases and to compare.
"""
