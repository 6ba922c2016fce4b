"""Writing a file so that a reader sees the old file or the new one, never half of one."""
from __future__ import annotations

import os
import pathlib
import tempfile


def write_atomic(path: pathlib.Path, text: str, *, newline: str | None = None) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, fsync'ed, then ``os.replace``.

    ``newline`` is ``open()``'s (``""`` for a CSV writer's own line endings). The file gets the mode an ordinary
    ``open()`` would give it; an interrupted write leaves the old file and no temporary one.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
