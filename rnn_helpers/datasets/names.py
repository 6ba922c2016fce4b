"""US census names, read from the files the ``names`` package installs (no download).

The package ships three frequency tables from the 1990 US census, one name per line followed by
its frequency (percent), cumulative frequency and rank: ``dist.all.last`` (88,799 surnames),
``dist.female.first`` (4,275) and ``dist.male.first`` (1,219).

Used in: chapter 06 (applications).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FILES = {"last": ("dist.all.last",), "female": ("dist.female.first",), "male": ("dist.male.first",),
         "first": ("dist.female.first", "dist.male.first")}


def _package_dir() -> Path:
    import names  # the PyPI package `names`, pinned in requirements.txt

    return Path(names.__file__).resolve().parent


def load_names(kind: str = "last") -> list[str]:
    """The names of one census table, lower-case, most frequent first, without duplicates.

    Inputs:
    - kind: "last" (surnames), "female" or "male" (first names), or "first" (female then male,
      a name listed in both kept once, at its first place).

    Returns:
    - names: list of lower-case ASCII strings (letters only).
    """
    if kind not in FILES:
        raise ValueError(f"kind must be one of {sorted(FILES)}, got {kind!r}")
    seen: dict[str, None] = {}
    for filename in FILES[kind]:
        with open(_package_dir() / filename, encoding="ascii") as fh:
            for line in fh:
                fields = line.split()
                if fields:
                    seen.setdefault(fields[0].lower(), None)
    return list(seen)


def split_names(names: list[str], val_fraction: float, *, seed: int) -> tuple[list[str], list[str]]:
    """Shuffle with a seed and split into (train, validation); validation gets round(val_fraction * n)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(names))
    n_val = int(round(val_fraction * len(names)))
    return [names[i] for i in order[n_val:]], [names[i] for i in order[:n_val]]
