"""``rnn-course applications``: retrain chapter 06's models and report them beside their baselines.

    rnn-course applications --report            # REPORT settings, writes benchmarks/applications_report.{json,md}
    rnn-course applications --report --quick    # a smoke test of the pipeline (tiny settings, nothing meaningful)

The table is printed as markdown and the whole result as JSON; with ``--out DIR`` the two files are
written to DIR instead of ``benchmarks/``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

NAMES_MARGIN = 0.35  # nats/char the best recurrent model must gain over the bigram model


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", action="store_true", help="retrain every model and write the report")
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the pipeline, not the results")
    parser.add_argument("--out", default=None, help="directory for applications_report.{json,md} (default: benchmarks/)")
    parser.add_argument("--only", default=None,
                        help="comma-separated subset of names,sentiment,adding,forecast,childrens_book (for development)")


def _timed(results: dict, key: str, fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    results["seconds"][key] = round(time.perf_counter() - start, 1)
    return out


def run_names(s: dict, seed: int) -> dict:
    from rnn_helpers.applications import names_language_model

    vocab, train, val = names_language_model.prepare(s["kind"], s["val_fraction"], seed=seed)
    tx, ty = names_language_model.to_tensors(train, vocab)
    vx, vy = names_language_model.to_tensors(val, vocab)
    out = {"bigram": names_language_model.bigram_nll(train, val, vocab)}
    for cell in s["cells"]:
        model, _ = names_language_model.train_model(cell, vocab, tx, ty, vx, vy, steps=s["steps"], batch=s["batch"],
                                        embed=s["embed"], hidden=s["hidden"], lr=s["lr"], seed=seed)
        out[cell] = names_language_model.nll(model, vx, vy)
    best = min(out[c] for c in s["cells"])
    out["gain_over_bigram"] = out["bigram"] - best
    out["target_met"] = bool(out["gain_over_bigram"] >= NAMES_MARGIN)
    return out


def run_sentiment(s: dict, seed: int) -> dict:
    from rnn_helpers.applications import negation_sentiment as sentiment

    splits = sentiment.make_splits(s["n_train"], s["n_test"], s["n_pairs"], seed=seed)
    out = {"n_test": int(splits["test"][0].shape[0]), "n_pairs": int(splits["pair_first"][0].shape[0])}
    for kind in ("bow", "rnn"):
        model, _ = sentiment.train_model(kind, splits, steps=s["steps"], batch=s["batch"], lr=s["lr"],
                                         embed=s["embed"], hidden=s["hidden"], cell=s["cell"], seed=seed)
        out[kind] = sentiment.accuracies(model, splits)
    out["target_met"] = bool(out["rnn"]["pairs"] >= 0.95 and out["bow"]["pairs"] <= 0.60)
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
        out["target_met"] = bool(r.get("gru", 1) < 0.01 and r.get("lstm", 1) < 0.01 and r.get("rnn", 0) >= 0.1)
    return out


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
    out["target_met"] = bool(out["lstm"] < min(out["persistence"], out["seasonal_naive"]))
    return out


def run_childrens_book(s: dict, seed: int) -> dict:
    from rnn_helpers.applications import childrens_book_walkthrough as cb

    _, hist = cb.train_model(hidden=s["hidden"], steps=s["steps"], batch=s["batch"],
                             chunk_sentences=s["chunk_sentences"], lr=s["lr"], seed=seed)
    return {"lstm": hist["eval"][-1], "no_memory_floor": cb.BIGRAM_NATS, "no_subject_floor": cb.POSITION_NATS,
            "optimum": cb.FLOOR_NATS}


TASKS = {"names": run_names, "sentiment": run_sentiment, "adding": run_adding, "forecast": run_forecast,
         "childrens_book": run_childrens_book}


def table_rows(results: dict) -> list[dict]:
    """One row per model: task, model, metric, value, baseline(s), target, met."""
    rows = []
    r = results.get("names")
    if r:
        for cell in ("rnn", "gru", "lstm"):
            if cell in r:
                rows.append({"task": "names (census surnames)", "model": cell.upper(), "metric": "val nats/char",
                             "value": r[cell], "baseline": f"bigram {r['bigram']:.3f}",
                             "target": f"best <= bigram - {NAMES_MARGIN}", "met": r["target_met"]})
    r = results.get("sentiment")
    if r:
        rows.append({"task": "sentiment, order-flipped pairs", "model": "GRU classifier", "metric": "accuracy",
                     "value": r["rnn"]["pairs"], "baseline": f"bag of words {r['bow']['pairs']:.3f}",
                     "target": ">= 0.95, BoW <= 0.60", "met": r["target_met"]})
        rows.append({"task": "sentiment, all held-out", "model": "GRU classifier", "metric": "accuracy",
                     "value": r["rnn"]["test"], "baseline": f"bag of words {r['bow']['test']:.3f}",
                     "target": "", "met": None})
    r = results.get("adding")
    if r:
        for key, row in r.items():
            if key.startswith("T="):
                for cell, mse in row.items():
                    target, met = "", None
                    if key == "T=50":
                        target = "< 0.01" if cell != "rnn" else ">= 0.1 (fails)"
                        met = mse < 0.01 if cell != "rnn" else mse >= 0.1
                    rows.append({"task": f"adding problem {key}", "model": cell.upper(), "metric": "test MSE",
                                 "value": mse, "baseline": f"predict 1: {r['trivial_mse']:.3f}", "target": target,
                                 "met": met})
    r = results.get("forecast")
    if r:
        rows.append({"task": f"sunspots {r['held_out_years'][0]}-{r['held_out_years'][1]}", "model": "LSTM",
                     "metric": "MAE", "value": r["lstm"],
                     "baseline": f"persistence {r['persistence']:.2f}, seasonal naive {r['seasonal_naive']:.2f}",
                     "target": "below both", "met": r["target_met"]})
    r = results.get("childrens_book")
    if r:
        rows.append({"task": "children's book", "model": "LSTM (H=6)", "metric": "val nats/word", "value": r["lstm"],
                     "baseline": f"no memory >= {r['no_memory_floor']:.3f}, no subject >= {r['no_subject_floor']:.3f}",
                     "target": f"optimum {r['optimum']:.3f}",
                     "met": None})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| task | model | metric | value | baseline | target | met |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        lines.append(f"| {row['task']} | {row['model']} | {row['metric']} | {row['value']:.4g} | {row['baseline']} | "
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
