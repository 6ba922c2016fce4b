"""``rnn-course applications``: retrain chapter 06's models and report them beside their baselines.

    rnn-course applications --report            # REPORT settings, writes benchmarks/applications_report.{json,md}
    rnn-course applications --report --quick    # a smoke test of the pipeline (tiny settings, nothing meaningful)

The table is printed as markdown and the whole result as JSON; with ``--out DIR`` the two files are
written to DIR instead of ``benchmarks/``.
"""
from __future__ import annotations

import argparse
import json
import operator
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """A bound a result must meet, written once: ``met`` checks it and ``text`` prints it.

    The bound is the number ``value``, or, for a target relative to another result of the same run, that result:
    ``than`` names it in the text and ``met(x, ref)`` is given its value.
    """

    op: str
    value: float | None = None
    than: str | None = None

    def __post_init__(self):
        if (self.value is None) == (self.than is None):
            raise ValueError("a Target needs exactly one of value (a number) and than (another result)")

    def met(self, x: float, ref: float | None = None) -> bool:
        if (ref is None) != (self.than is None):
            raise ValueError(f"this target compares with {self.than or self.value!r}: "
                             f"{'pass' if self.than else 'do not pass'} ref")
        return bool(_OPS[self.op](x, self.value if self.than is None else ref))

    def text(self, what: str = "") -> str:
        bound = f"{self.value:g}" if self.than is None else self.than
        return f"{what} {self.op} {bound}".strip()


_OPS = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, ">": operator.gt}

# Every target of the report, in one place (the table's "target" column is written from these).
TARGETS = {
    "names_gain": Target(">=", 0.35),             # nats/char the best recurrent model gains over the bigram
    "sentiment_rnn_pairs": Target(">=", 0.95),    # the recurrent classifier on the order-flipped pairs
    "sentiment_bow_pairs": Target("<=", 0.60),    # bag of words on the same pairs (0.5 by construction)
    "adding_gated_T50": Target("<", 0.01),        # GRU and LSTM test MSE at lag 50
    "adding_rnn_T50": Target(">=", 0.1),          # the simple RNN stays near 1/6 at lag 50 (it fails)
    "seq2seq_short_greedy": Target(">=", 0.9),    # greedy exact match on the inputs of at most SHORT symbols
    "seq2seq_length_drop": Target(">=", 0.5),     # greedy exact match, shortest minus longest inputs
    "seq2seq_baseline": Target("<=", 0.05),       # the bag-of-symbols baseline's exact match
    # relative targets: met(x, ref) with ref the other result of the same run
    "names_perplexity": Target("<", than="both baselines"),  # each model's perplexity, ref: min(bigram, unigram)
    "forecast_mae": Target("<", than="both baselines"),      # the LSTM's MAE, ref: min(persistence, seasonal naive)
    "dropout_gap": Target("<", than="without dropout"),      # val - train nats/char with dropout, ref: without
    "dropout_val": Target("<=", than="without dropout"),     # val nats/char with dropout, ref: without
}
SEQ2SEQ_SHORT = 6  # "short" inputs for the seq2seq target: at most this many symbols


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", action="store_true", help="retrain every model and write the report")
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the pipeline, not the results")
    parser.add_argument("--out", default=None, help="directory for applications_report.{json,md} (default: benchmarks/)")
    parser.add_argument("--only", default=None,
                        help="comma-separated subset of names,sentiment,adding,forecast,childrens_book,seq2seq,dropout "
                             "(for development)")


def _timed(results: dict, key: str, fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    results["seconds"][key] = round(time.perf_counter() - start, 1)
    return out


def run_names(s: dict, seed: int) -> dict:
    """Held-out nats/char and perplexity of the RNN/GRU/LSTM names models beside the unigram and bigram models."""
    from rnn_helpers.applications import names_language_model
    from rnn_helpers.perplexity import nats_per_token, perplexity

    vocab, train, val = names_language_model.prepare(s["kind"], s["val_fraction"], seed=seed)
    tx, ty = names_language_model.to_tensors(train, vocab)
    vx, vy = names_language_model.to_tensors(val, vocab)
    log_probs = {"unigram": names_language_model.table_token_log_probs(
                     names_language_model.unigram_log_probs(train, vocab), vx, vy),
                 "bigram": names_language_model.table_token_log_probs(
                     names_language_model.bigram_log_probs(train, vocab), vx, vy)}
    for cell in s["cells"]:
        model, _ = names_language_model.train_model(cell, vocab, tx, ty, vx, vy, steps=s["steps"], batch=s["batch"],
                                                    embed=s["embed"], hidden=s["hidden"], lr=s["lr"], seed=seed)
        log_probs[cell] = names_language_model.token_log_probs(model, vx, vy)
    out = {k: nats_per_token(*lp) for k, lp in log_probs.items()}
    out["perplexity"] = {k: perplexity(*lp) for k, lp in log_probs.items()}
    best = min(out[c] for c in s["cells"])
    out["gain_over_bigram"] = out["bigram"] - best
    out["target_met"] = TARGETS["names_gain"].met(out["gain_over_bigram"])
    ppl = out["perplexity"]
    out["perplexity_target_met"] = {c: _names_perplexity_met(ppl, c) for c in s["cells"]}
    return out


def _names_perplexity_met(ppl: dict, cell: str) -> bool:
    return TARGETS["names_perplexity"].met(ppl[cell], min(ppl["bigram"], ppl["unigram"]))


def run_sentiment(s: dict, seed: int) -> dict:
    from rnn_helpers.applications import negation_sentiment as sentiment

    splits = sentiment.make_splits(s["n_train"], s["n_test"], s["n_pairs"], seed=seed)
    out = {"n_test": int(splits["test"][0].shape[0]), "n_pairs": int(splits["pair_first"][0].shape[0]),
           "cell": s["cell"]}
    for kind in ("bow", "rnn"):
        model, _ = sentiment.train_model(kind, splits, steps=s["steps"], batch=s["batch"], lr=s["lr"],
                                         embed=s["embed"], hidden=s["hidden"], cell=s["cell"], seed=seed)
        out[kind] = sentiment.accuracies(model, splits)
    out["target_met"] = (TARGETS["sentiment_rnn_pairs"].met(out["rnn"]["pairs"])
                         and TARGETS["sentiment_bow_pairs"].met(out["bow"]["pairs"]))
    return out


def run_adding(s: dict, seed: int) -> dict:
    from rnn_helpers.applications import adding_benchmark as adding

    out = {"trivial_mse": adding.TRIVIAL_MSE}
    for T in s["lags"]:
        row = {}
        for cell in s["cells"]:
            _, hist = adding.train_model(cell, T, steps=s["steps"], batch=s["batch"], hidden=s["hidden"], lr=s["lr"],
                                         eval_every=max(1, s["steps"] // 15), seed=seed)
            row[cell] = hist["eval"][-1]
        out[f"T={T}"] = row
    if "T=50" in out:
        r = out["T=50"]
        out["target_met"] = all(_adding_target(cell).met(mse) for cell, mse in r.items())
    return out


def _adding_target(cell: str) -> Target:
    return TARGETS["adding_rnn_T50"] if cell == "rnn" else TARGETS["adding_gated_T50"]


def run_forecast(s: dict, seed: int) -> dict:
    import numpy as np

    from rnn_helpers.applications import sunspots_forecast as forecast

    splits = forecast.make_splits(s["window"], s["n_test"], s["n_val"])
    out = forecast.baseline_maes(splits)
    predict, hist = forecast.train_model(splits, steps=s["steps"], hidden=s["hidden"], lr=s["lr"], seed=seed)
    out["lstm"] = float(np.mean(np.abs(predict(splits["X_test"]) - splits["y_test"])))
    out["steps_chosen_on_validation"] = hist["best_step"]
    out["validation_years"] = [int(splits["years_val"][0]), int(splits["years_val"][-1])]
    out["held_out_years"] = [int(splits["years_test"][0]), int(splits["years_test"][-1])]
    out["target_met"] = TARGETS["forecast_mae"].met(out["lstm"], min(out["persistence"], out["seasonal_naive"]))
    return out


def run_childrens_book(s: dict, seed: int) -> dict:
    from rnn_helpers.applications import childrens_book_walkthrough as cb

    _, hist = cb.train_model(hidden=s["hidden"], steps=s["steps"], batch=s["batch"],
                             chunk_sentences=s["chunk_sentences"], lr=s["lr"], seed=seed)
    return {"lstm": hist["eval"][-1], "no_memory_floor": cb.BIGRAM_NATS, "no_subject_floor": cb.POSITION_NATS,
            "optimum": cb.FLOOR_NATS, "hidden": s["hidden"]}


def run_seq2seq(s: dict, seed: int) -> dict:
    """Exact match of the reversal encoder-decoder (greedy, beam) and of the bag-of-symbols baseline, by length."""
    from rnn_helpers.applications import seq2seq_reversal as s2s

    splits = s2s.make_splits(s["n_train"], s["n_test_per_length"], s["min_len"], s["max_len"], seed=seed)
    model, hist = s2s.train_model(splits, steps=s["steps"], batch=s["batch"], embed=s["embed"], hidden=s["hidden"],
                                  lr=s["lr"], cell=s["cell"], seed=seed)
    baseline, _ = s2s.train_baseline(splits, steps=s["baseline_steps"], batch=s["batch"], hidden=s["baseline_hidden"],
                                     lr=s["baseline_lr"], seed=seed)
    ev = s2s.evaluate(model, baseline, splits, beam_width=s["beam_width"], alpha=s["alpha"])
    beam = f"beam {s['beam_width']}"
    greedy_by_length = ev["by_length"]["greedy"]
    short = [acc for L, acc in greedy_by_length.items() if L <= SEQ2SEQ_SHORT]
    out = {"n_train": s["n_train"], "cell": s["cell"], "n_test": len(ev["targets"]), "test_nll": hist["eval"][-1],
           "exact_match": {"greedy": ev["overall"]["greedy"], "beam": ev["overall"][beam],
                           "bag_of_symbols": ev["overall"]["bag of symbols"]},
           "symbol_accuracy": {"greedy": s2s.symbol_accuracy(ev["predictions"]["greedy"], ev["targets"]),
                               "teacher_forced": s2s.teacher_forced_symbol_accuracy(model, splits)},
           "by_length": {"greedy": greedy_by_length, "beam": ev["by_length"][beam],
                         "bag_of_symbols": ev["by_length"]["bag of symbols"]},
           "short_greedy": min(short) if short else float("nan"),
           "length_drop": greedy_by_length[min(greedy_by_length)] - greedy_by_length[max(greedy_by_length)]}
    out["target_met"] = (TARGETS["seq2seq_short_greedy"].met(out["short_greedy"])
                         and TARGETS["seq2seq_length_drop"].met(out["length_drop"])
                         and TARGETS["seq2seq_baseline"].met(out["exact_match"]["bag_of_symbols"]))
    return out


def run_dropout(s: dict, seed: int) -> dict:
    """Train/validation gap of a small-data names model without and with variational dropout."""
    from rnn_helpers.applications import recurrent_dropout

    settings = {k: v for k, v in s.items() if k != "p"}
    runs = recurrent_dropout.train_with_and_without(s["p"], seed=seed, **settings)
    out = {f"p={rate}": {k: r[k] for k in ("train_nll", "val_nll", "gap")} for rate, r in runs.items()}
    without, with_ = out["p=0.0"], out[f"p={s['p']}"]
    out["target_met"] = dropout_target_met(without, with_)
    out["n_train"], out["cell"] = s["n_train"], s["cell"]
    return out


def dropout_target_met(without: dict, with_: dict) -> bool:
    """Dropout must shrink the val - train gap without making the held-out loss worse (a gap can also shrink
    because the training loss got worse)."""
    return (TARGETS["dropout_gap"].met(with_["gap"], without["gap"])
            and TARGETS["dropout_val"].met(with_["val_nll"], without["val_nll"]))


TASKS = {"names": run_names, "sentiment": run_sentiment, "adding": run_adding, "forecast": run_forecast,
         "childrens_book": run_childrens_book, "seq2seq": run_seq2seq, "dropout": run_dropout}


def table_rows(results: dict) -> list[dict]:
    """One row per model: task, model, metric, value, baseline(s), target, met."""
    rows = []
    r = results.get("names")
    if r:
        gain = TARGETS["names_gain"].text("best gain over bigram")
        for cell in ("rnn", "gru", "lstm"):
            if cell in r:
                rows.append({"task": "names (census surnames)", "model": cell.upper(), "metric": "val nats/char",
                             "value": r[cell], "baseline": f"bigram {r['bigram']:.3f}, unigram {r['unigram']:.3f}",
                             "target": gain, "met": r["target_met"]})
        ppl = r["perplexity"]
        for cell in ("rnn", "gru", "lstm"):
            if cell in ppl:
                rows.append({"task": "names (census surnames)", "model": cell.upper(), "metric": "val perplexity",
                             "value": ppl[cell], "baseline": f"bigram {ppl['bigram']:.2f}, unigram {ppl['unigram']:.2f}",
                             "target": TARGETS["names_perplexity"].text(), "met": _names_perplexity_met(ppl, cell)})
    r = results.get("sentiment")
    if r:
        classifier = f"{r['cell'].upper()} classifier"
        rows.append({"task": "sentiment, order-flipped pairs", "model": classifier, "metric": "accuracy",
                     "value": r["rnn"]["pairs"], "baseline": f"bag of words {r['bow']['pairs']:.3f}",
                     "target": f"{TARGETS['sentiment_rnn_pairs'].text()}, "
                               f"{TARGETS['sentiment_bow_pairs'].text('BoW')}", "met": r["target_met"]})
        rows.append({"task": "sentiment, all held-out", "model": classifier, "metric": "accuracy",
                     "value": r["rnn"]["test"], "baseline": f"bag of words {r['bow']['test']:.3f}",
                     "target": "", "met": None})
    r = results.get("adding")
    if r:
        for key, row in r.items():
            if key.startswith("T="):
                for cell, mse in row.items():
                    target, met = "", None
                    if key == "T=50":
                        target = _adding_target(cell).text() + (" (fails)" if cell == "rnn" else "")
                        met = _adding_target(cell).met(mse)
                    rows.append({"task": f"adding problem {key}", "model": cell.upper(), "metric": "test MSE",
                                 "value": mse, "baseline": f"predict 1: {r['trivial_mse']:.3f}", "target": target,
                                 "met": met})
    r = results.get("forecast")
    if r:
        rows.append({"task": f"sunspots {r['held_out_years'][0]}-{r['held_out_years'][1]}", "model": "LSTM",
                     "metric": "MAE", "value": r["lstm"],
                     "baseline": f"persistence {r['persistence']:.2f}, seasonal naive {r['seasonal_naive']:.2f}",
                     "target": TARGETS["forecast_mae"].text(), "met": r["target_met"]})
    r = results.get("childrens_book")
    if r:
        rows.append({"task": "children's book", "model": f"LSTM (H={r['hidden']})", "metric": "val nats/word", "value": r["lstm"],
                     "baseline": f"no memory >= {r['no_memory_floor']:.3f}, no subject >= {r['no_subject_floor']:.3f}",
                     "target": f"optimum {r['optimum']:.3f}",
                     "met": None})
    r = results.get("seq2seq")
    if r:
        task = "seq2seq reversal, exact match"
        enc_dec = f"{r['cell'].upper()} enc-dec"
        em = r["exact_match"]
        base = f"bag of symbols {em['bag_of_symbols']:.3f}"
        rows.append({"task": task, "model": f"{enc_dec}, greedy", "metric": f"all {r['n_test']} test strings",
                     "value": em["greedy"], "baseline": base, "target": "", "met": None})
        rows.append({"task": task, "model": f"{enc_dec}, beam", "metric": f"all {r['n_test']} test strings",
                     "value": em["beam"], "baseline": base, "target": "", "met": None})
        rows.append({"task": task, "model": f"{enc_dec}, greedy", "metric": f"worst length <= {SEQ2SEQ_SHORT}",
                     "value": r["short_greedy"], "baseline": base,
                     "target": f"{TARGETS['seq2seq_short_greedy'].text()}, "
                               f"{TARGETS['seq2seq_baseline'].text('baseline')}",
                     "met": bool(TARGETS["seq2seq_short_greedy"].met(r["short_greedy"])
                                 and TARGETS["seq2seq_baseline"].met(em["bag_of_symbols"]))})
        rows.append({"task": task, "model": f"{enc_dec}, greedy", "metric": "shortest minus longest",
                     "value": r["length_drop"], "baseline": "", "target": TARGETS["seq2seq_length_drop"].text(),
                     "met": TARGETS["seq2seq_length_drop"].met(r["length_drop"])})
        for name, by_length in r["by_length"].items():
            rows.append({"task": "seq2seq reversal, exact match by length", "model": name.replace("_", " "),
                         "metric": "length: accuracy",
                         "value": None, "text": ", ".join(f"{L}: {a:.2f}" for L, a in by_length.items()),
                         "baseline": "", "target": "", "met": None})
        sa = r["symbol_accuracy"]
        rows.append({"task": "seq2seq reversal, symbols right", "model": f"{enc_dec}, greedy",
                     "metric": "fraction of symbols", "value": sa["greedy"],
                     "baseline": f"teacher-forced {sa['teacher_forced']:.3f}", "target": "",
                     "met": None})
    r = results.get("dropout")
    if r:
        for key, row in r.items():
            if key.startswith("p="):
                with_dropout = key != "p=0.0"
                target = (f"{TARGETS['dropout_gap'].text('gap')}, {TARGETS['dropout_val'].text('val')}"
                          if with_dropout else "")
                rows.append({"task": f"names, {r['n_train']} training names",
                             "model": f"{r['cell'].upper()}, dropout {key}",
                             "metric": "val - train nats/char", "value": row["gap"],
                             "baseline": f"train {row['train_nll']:.3f}, val {row['val_nll']:.3f}",
                             "target": target, "met": r["target_met"] if with_dropout else None})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| task | model | metric | value | baseline | target | met |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        value = row["text"] if "text" in row else f"{row['value']:.4g}"
        lines.append(f"| {row['task']} | {row['model']} | {row['metric']} | {value} | {row['baseline']} | "
                     f"{row['target']} | {met} |")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if not args.report:
        print("rnn-course applications: nothing to do (use --report)", file=sys.stderr)
        return 2
    from rnn_helpers.applications import settings as settings_module
    from rnn_helpers.applications.torch_training import configure_torch

    settings = settings_module.QUICK if args.quick else settings_module.REPORT
    tasks = list(TASKS) if not args.only else [t.strip() for t in args.only.split(",")]
    unknown = set(tasks) - set(TASKS)
    if unknown:
        print(f"--only: unknown task(s) {sorted(unknown)}; choose from {list(TASKS)}", file=sys.stderr)
        return 2
    configure_torch(settings["threads"])
    import torch

    results: dict = {"mode": "quick" if args.quick else "report", "seconds": {},
                     "machine": {"python": platform.python_version(), "torch": torch.__version__,
                                 "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                                 "load_average_before": [round(x, 2) for x in os.getloadavg()]},
                     "date": time.strftime("%Y-%m-%d"),
                     "settings": {k: settings[k] for k in ["seed", *tasks]}}
    for task in tasks:
        results[task] = _timed(results, task, TASKS[task], settings[task], settings["seed"])
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    rows = table_rows(results)
    results["rows"] = rows
    results["all_targets_met"] = all(row["met"] is not False for row in rows)
    md = markdown(rows)
    out_dir = Path(args.out) if args.out else Path(__file__).resolve().parents[2] / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "applications_report.json").write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    header = (f"Chapter 06 models retrained with `rnn-course applications --report{' --quick' if args.quick else ''}` "
              f"on {results['date']}: {m['cpus']} CPUs, {m['torch_threads']} torch threads, torch {m['torch']}, "
              f"load average before/after {m['load_average_before']} / {m['load_average_after']} (shared machine); "
              f"seconds per task: {results['seconds']}. All targets met: {results['all_targets_met']}.\n\n")
    (out_dir / "applications_report.md").write_text(header + md)
    print(json.dumps(results, indent=2))
    print()
    print(md)
    return 0
