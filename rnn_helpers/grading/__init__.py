"""Grading support: records emitted by hidden tests, the check registry, the grading command.

The design (COURSE.md, "Grading architecture"): a hidden test in the student's kernel only *records*
what the student's function returns on seeded inputs (``record_check``); the grader, in its own process,
regenerates the same inputs, computes the reference outputs and decides the points. Nothing that decides
a point runs in the student's kernel.
"""
