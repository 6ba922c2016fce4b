"""Grader side of the grading boundary: everything that never runs in the student's kernel.

A hidden test in the student's kernel only *records* what the student's function returns on seeded inputs
(``rnn_helpers.checks``). This package, in the grader's own process, collects the submissions, runs each
notebook in a sandboxed kernel, restores the instructor's test cells, regenerates the cases, computes the
reference outputs, compares, scans the student's source, and writes the gradebook, the feedback and the CSV.
The grading build of ``rnn_helpers`` that the kernel sees has this whole package replaced by a stub
(``stripped``). See ``THREAT_MODEL.md`` for what is defended.
"""
