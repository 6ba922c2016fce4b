"""Checks of assignment 06 (applications): temperature sampling, a character vocabulary, forecasting windows and
the persistence baseline, a torch character model and one clipped training step.

Random functions get a seed in their case and the ``call`` builds the generator (or the torch model and its
parameters) from it, so the student's function and the reference see identical inputs. No reference import here.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import exact_compare, randn, rng
from rnn_helpers.checks.registry import Check

TEXTS = ["hello world", "a", "abracadabra", "Doug saw Jane. Jane saw Spot.", "zzz yy x"]


def _temperature_cases():
    out = []
    for seed, (V, tau) in enumerate([(5, 1.0), (5, 0.5), (3, 2.0), (1, 1.0), (8, 0.1), (4, 10.0)]):
        out.append({"logits": randn(rng(6000 + seed), V, scale=2.0), "temperature": tau})
    out.append({"logits": np.array([500.0, 0.0, -500.0]), "temperature": 0.5})  # overflow guard
    return out


def _sample_cases():
    return [{**c, "seed": 6100 + k, "n": 20} for k, c in enumerate(_temperature_cases()[:6])]


def _sample(fn, c):
    generator = np.random.default_rng(c["seed"])
    return [fn(c["logits"], c["temperature"], generator) for _ in range(c["n"])]


def _vocab_cases():
    return [{"text": t} for t in TEXTS]


def _encode_cases():
    out = []
    for k, t in enumerate(TEXTS):
        vocab = sorted(set(t) | set("xyz ."))
        out.append({"text": t[::-1] if k % 2 else t, "vocab": vocab})
    return out


def _decode_cases():
    out = []
    for k, t in enumerate(TEXTS):
        vocab = sorted(set(t))
        out.append({"ids": rng(6200 + k).integers(0, len(vocab), size=7).astype(np.int64), "vocab": vocab})
    out.append({"ids": np.array([0], dtype=np.int64), "vocab": ["q"]})
    return out


def _window_cases():
    out = []
    for seed, (N, w) in enumerate([(10, 3), (5, 1), (6, 5), (20, 7), (2, 1)]):
        out.append({"series": randn(rng(6300 + seed), N).cumsum(), "window": w})
    return out


def _persistence_cases():
    return [{"X": randn(rng(6400 + seed), n, w)} for seed, (n, w) in enumerate([(4, 3), (1, 1), (6, 1), (3, 8), (1, 5)])]


# ----- torch: the character model and one training step
def _state(r, V, E, H, cell):
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    return {"embedding.weight": randn(r, V, E),
            "rnn.weight_ih_l0": randn(r, G * H, E, scale=0.5), "rnn.weight_hh_l0": randn(r, G * H, H, scale=0.5),
            "rnn.bias_ih_l0": randn(r, G * H, scale=0.5), "rnn.bias_hh_l0": randn(r, G * H, scale=0.5),
            "head.weight": randn(r, V, H, scale=0.5), "head.bias": randn(r, V, scale=0.5)}


def _model_cases():
    out = []
    for seed, (V, E, H, cell, B, T) in enumerate([(6, 3, 4, "lstm", 2, 5), (5, 2, 3, "gru", 1, 4), (4, 2, 2, "rnn", 3, 1),
                                                  (3, 1, 1, "lstm", 1, 1), (7, 4, 5, "lstm", 2, 3)]):
        r = rng(6500 + seed)
        out.append({"vocab_size": V, "embed_dim": E, "hidden_size": H, "cell": cell, "state": _state(r, V, E, H, cell),
                    "idx": r.integers(0, V, size=(B, T)).astype(np.int64)})
    return out


def _load(model, state):
    import torch

    model = model.double()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return model


def _model_call(cls, c):
    import torch

    model = _load(cls(c["vocab_size"], c["embed_dim"], c["hidden_size"], cell=c["cell"]), c["state"])
    with torch.no_grad():
        return model(torch.from_numpy(c["idx"])).numpy()


def _tiny_model(c):
    """A character model built here (not the student's), so that train_step is graded on its own."""
    import torch
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(c["vocab_size"], c["embed_dim"])
            self.rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[c["cell"]](
                c["embed_dim"], c["hidden_size"], batch_first=True)
            self.head = nn.Linear(c["hidden_size"], c["vocab_size"])

        def forward(self, idx):
            return self.head(self.rnn(self.embedding(idx))[0])

    torch.manual_seed(c["seed"])
    return _load(Tiny(), c["state"])


def _step_cases():
    out = []
    for k, (c, max_norm) in enumerate(zip(_model_cases(), [1.0, 0.05, None, 100.0, 0.5])):
        r = rng(6600 + k)
        targets = r.integers(0, c["vocab_size"], size=c["idx"].shape).astype(np.int64)
        if k == 4:
            targets[0, -1] = -100  # a padded position, ignored by the loss
        out.append({**c, "targets": targets, "max_norm": max_norm, "lr": 0.1, "seed": 6700 + k})
    return out


def _step(fn, c):
    import torch

    model = _tiny_model(c)
    optimizer = torch.optim.SGD(model.parameters(), lr=c["lr"])
    loss, grad_norm = fn(model, optimizer, torch.from_numpy(c["idx"]), torch.from_numpy(c["targets"]), c["max_norm"])
    return float(loss), float(grad_norm), {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


CHECKS = [
    Check("softmax_with_temperature", cases=_temperature_cases,
          reference="rnn_helpers.sampling:softmax_with_temperature"),
    Check("sample_with_temperature", cases=_sample_cases, reference="rnn_helpers.sampling:sample_with_temperature",
          call=_sample, reference_call=_sample, compare=exact_compare),
    Check("build_vocab", cases=_vocab_cases, reference="rnn_helpers.text:build_vocab", compare=exact_compare),
    Check("encode", cases=_encode_cases, reference="rnn_helpers.text:encode", compare=exact_compare),
    Check("decode", cases=_decode_cases, reference="rnn_helpers.text:decode", compare=exact_compare),
    Check("make_windows", cases=_window_cases, reference="rnn_helpers.forecasting:make_windows"),
    Check("persistence_forecast", cases=_persistence_cases, reference="rnn_helpers.forecasting:persistence_forecast"),
    Check("CharModel", cases=_model_cases, reference="rnn_helpers.char_model:CharModel",
          call=_model_call, reference_call=_model_call, from_scratch=False),
    Check("train_step", cases=_step_cases, reference="rnn_helpers.char_model:train_step",
          call=_step, reference_call=_step, from_scratch=False),
]
