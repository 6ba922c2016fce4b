"""The training settings of chapter 06, shared by the book and ``rnn-course applications --report``.

CHAPTER runs inside the book build (chapter 06 must execute in a few minutes on 2 cores);
REPORT is the same except where a longer run shows the full result (more steps for the names
models, and the adding problem also at lag 100); QUICK is a smoke test of the whole pipeline.
"seq2seq" and "dropout" are the same in CHAPTER and REPORT, so the report's numbers are the chapter's.
"""
from __future__ import annotations

import copy

CHAPTER = {
    # One torch thread: these models are small (H <= 128), and on a shared 2-core machine a second thread
    # costs more in synchronisation than it gains (measured 3-4x slower with 2 threads; benchmarks/README.md).
    "threads": 1,
    "seed": 0,
    "hello": {"text": "hello", "embed": 8, "hidden": 16, "cell": "gru", "steps": 60, "lr": 0.05},
    "names": {"kind": "last", "val_fraction": 0.1, "embed": 32, "hidden": 128, "batch": 128, "lr": 0.005,
              "steps": 400, "cells": ["rnn", "gru", "lstm"], "temperatures": [0.5, 1.0, 1.5]},
    "sentiment": {"n_train": 2000, "n_test": 2000, "n_pairs": 1000, "steps": 300, "batch": 64, "lr": 0.01,
                  "embed": 16, "hidden": 32, "cell": "gru"},
    "adding": {"lags": [50], "steps": 1500, "batch": 64, "hidden": 32, "lr": 0.003, "cells": ["rnn", "gru", "lstm"]},
    "forecast": {"window": 22, "n_test": 40, "n_val": 20, "steps": 300, "hidden": 16, "lr": 0.01},
    "childrens_book": {"hidden": 6, "steps": 600, "batch": 32, "chunk_sentences": 4, "lr": 0.02},
    # Reversal of strings of 4..12 symbols: 500 steps take about 13 s on one thread, greedy decoding and a beam of 4
    # over the 270 test strings about 6 s more (the cold book build must stay under 3 minutes).
    "seq2seq": {"n_train": 20000, "n_test_per_length": 30, "min_len": 4, "max_len": 12, "cell": "gru",
                "embed": 32, "hidden": 96, "batch": 64, "lr": 0.005, "steps": 500, "beam_width": 4, "alpha": 0.7,
                "baseline_hidden": 256, "baseline_steps": 1000, "baseline_lr": 0.003},
    # A names model on only 1000 training surnames, so that it overfits within 400 steps (about 5 s per run).
    "dropout": {"kind": "last", "val_fraction": 0.1, "n_train": 1000, "n_val": 3000, "cell": "gru", "embed": 32,
                "hidden": 128, "batch": 32, "lr": 0.005, "steps": 400, "p": 0.5},
}

REPORT = copy.deepcopy(CHAPTER)
REPORT["names"]["steps"] = 1500
REPORT["adding"]["lags"] = [50, 100]

QUICK = copy.deepcopy(CHAPTER)
QUICK["hello"]["steps"] = 10
QUICK["names"].update(steps=5, hidden=16, batch=32)
QUICK["sentiment"].update(n_train=200, n_test=200, n_pairs=100, steps=5)
QUICK["adding"].update(lags=[10], steps=5, hidden=8)
QUICK["forecast"].update(steps=5)
QUICK["childrens_book"].update(steps=5)
QUICK["seq2seq"].update(n_train=300, n_test_per_length=2, max_len=6, steps=5, baseline_steps=5, hidden=16)
QUICK["dropout"].update(n_train=100, n_val=100, steps=5, hidden=16)
