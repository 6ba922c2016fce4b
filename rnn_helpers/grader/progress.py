"""How far a grading run is: a one-line bar on a terminal, one line per student otherwise (logs, CI, pipes).

The bar counts the students done (graded now, or kept from an earlier run into the same OUT) and estimates the
time left from the students graded *now* (kept ones cost nothing and would make the estimate optimistic)::

    [##########----------]  5/10  (2 kept)  ETA 1m20s  grading alice

Time comes from a clock passed in (``time.monotonic`` by default), so the formatting is tested without waiting.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

BAR_WIDTH = 20


def format_duration(seconds: float | None) -> str:
    """``"?"`` (unknown), ``"45s"``, ``"3m05s"`` or ``"2h03m"``."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def time_left(done_now: int, elapsed_now: float, remaining: int) -> float | None:
    """Seconds left: ``remaining`` students at the mean time of the ``done_now`` graded so far (None: unknown)."""
    if remaining <= 0:
        return 0.0
    if done_now <= 0:
        return None
    return elapsed_now / done_now * remaining


def format_bar(done: int, total: int, kept: int, left: float | None, current: str = "",
               width: int = BAR_WIDTH) -> str:
    """One line: the bar, ``done/total``, the kept count (if any), the time left and the student being graded."""
    if total < 0 or not 0 <= done <= max(total, 0) or kept < 0:
        raise ValueError(f"bad progress counts: done={done}, total={total}, kept={kept}")
    filled = width if total == 0 else (width * done) // total
    parts = [f"[{'#' * filled}{'-' * (width - filled)}]", f"{done:>{len(str(total))}}/{total}"]
    if kept:
        parts.append(f"({kept} kept)")
    parts.append(f"ETA {format_duration(left)}")
    if current:
        parts.append(f"grading {current}")
    return "  ".join(parts)


class Progress:
    """Told of each student as it starts and ends; shows it as lines (``echo``) or as a bar (a terminal)."""

    def __init__(self, total: int, echo: Callable[[str], None] = print, *, bar_stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.echo, self.stream, self.clock = total, echo, bar_stream, clock
        self.kept = self.graded = 0  # students kept from an earlier run into the same OUT / graded now
        self._graded_time = 0.0
        self._started: dict[str, float] = {}  # the students being graded now (several with --jobs), and since when
        self._width = 0

    @classmethod
    def for_stream(cls, total: int, echo: Callable[[str], None], stream: TextIO | None = None) -> "Progress":
        """A bar when ``stream`` (default stderr) is a terminal, else one line per student through ``echo``."""
        stream = sys.stderr if stream is None else stream
        tty = bool(getattr(stream, "isatty", lambda: False)())
        return cls(total, echo, bar_stream=stream if tty else None)

    @property
    def done(self) -> int:
        return self.kept + self.graded

    def start(self, student: str) -> None:
        self._started[student] = self.clock()
        if self.stream is None:
            self.echo(f"[{self.done + 1}/{self.total}] grading {student}")
        else:
            self._draw(student)

    def finish_student(self, student: str, kept: bool) -> None:
        if kept:
            self.kept += 1
            if self.stream is None:
                self.echo(f"[{self.done}/{self.total}] kept {student} (graded by an earlier run into this OUT)")
        else:
            self.graded += 1
            started = self._started.get(student)
            if started is not None:
                self._graded_time += self.clock() - started
        self._started.pop(student, None)
        if self.stream is not None:
            self._draw("")

    def line(self, current: str = "") -> str:
        """The bar as it stands (what a terminal shows)."""
        # students graded side by side (--jobs) share the wall clock: a student's mean time over how many at once
        left = time_left(self.graded, self._graded_time / max(1, len(self._started)), self.total - self.done)
        return format_bar(self.done, self.total, self.kept, left, current)

    def close(self) -> None:
        if self.stream is not None and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def _draw(self, current: str) -> None:
        text = self.line(current)
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)
