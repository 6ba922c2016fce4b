"""Checks of assignment 06 (applications): temperature sampling, a character vocabulary, forecasting windows and
the persistence baseline, a torch character model and one clipped training step, perplexity and beam search.

Random functions get a seed in their case and the ``call`` builds the generator (or the torch model and its
parameters) from it, so the student's function and the reference see identical inputs. No reference import here.
One ``train_step`` case calls it twice on the same model and optimizer and records the second call (gradients
left from the first must not count: a forgotten ``zero_grad`` fails there only).

Beam search gets its step function the same way: a case holds a table's description (kind, seed, V) and the ``call``
builds the step from it (:class:`TableStep`), for the student's function in the kernel and for the reference in the
grader. "random" tables depend on the whole prefix; "ties" tables depend on the position only and give the two most
probable tokens of every position the same log-probability, so the documented tie-break decides the answer.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import case_rng, randn
from rnn_helpers.checks.compare import exact_compare
from rnn_helpers.checks.registry import Check
from rnn_helpers.checks.seeds import case_seed

ASSIGNMENT = "06_applications"

TEXTS = ["hello world", "a", "abracadabra", "Doug saw Jane. Jane saw Spot.", "zzz yy x"]


def _temperature_cases():
    out = []
    for seed, (V, tau) in enumerate([(5, 1.0), (5, 0.5), (3, 2.0), (1, 1.0), (8, 0.1), (4, 10.0)]):
        out.append({"logits": randn(case_rng(ASSIGNMENT, "softmax_with_temperature", seed), V, scale=2.0),
                    "temperature": tau})
    out.append({"logits": np.array([500.0, 0.0, -500.0]), "temperature": 0.5})  # overflow guard
    # the maximum must come off the SCALED logits: max(logits) = 10 leaves exp(1000 - 10) to overflow
    out.append({"logits": np.array([10.0, 0.0]), "temperature": 0.01})
    return out


def _sample_cases():
    return [{**c, "seed": case_seed(ASSIGNMENT, "sample_with_temperature", k), "n": 20}
            for k, c in enumerate(_temperature_cases()[:6])]


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
        ids = case_rng(ASSIGNMENT, "decode", k).integers(0, len(vocab), size=7).astype(np.int64)
        out.append({"ids": ids, "vocab": vocab})
    out.append({"ids": np.array([0], dtype=np.int64), "vocab": ["q"]})
    return out


def _window_cases():
    out = []
    for seed, (N, w) in enumerate([(10, 3), (5, 1), (6, 5), (20, 7), (2, 1)]):
        out.append({"series": randn(case_rng(ASSIGNMENT, "make_windows", seed), N).cumsum(), "window": w})
    return out


def _persistence_cases():
    return [{"X": randn(case_rng(ASSIGNMENT, "persistence_forecast", seed), n, w)}
            for seed, (n, w) in enumerate([(4, 3), (1, 1), (6, 1), (3, 8), (1, 5)])]


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
        r = case_rng(ASSIGNMENT, "CharModel", seed)  # train_step starts from these models
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
        r = case_rng(ASSIGNMENT, "train_step", k)
        targets = r.integers(0, c["vocab_size"], size=c["idx"].shape).astype(np.int64)
        if k == 4:
            targets[0, -1] = -100  # a padded position, ignored by the loss
        out.append({**c, "targets": targets, "max_norm": max_norm, "lr": 0.1, "calls": 1,
                    "seed": case_seed(ASSIGNMENT, "train_step torch.manual_seed", k)})
    # a second call on the same model and optimizer, recorded: gradients left over from the first must not count
    k = len(out)
    c = _model_cases()[0]
    targets = case_rng(ASSIGNMENT, "train_step", k).integers(0, c["vocab_size"], size=c["idx"].shape).astype(np.int64)
    out.append({**c, "targets": targets, "max_norm": None, "lr": 0.1, "calls": 2,
                "seed": case_seed(ASSIGNMENT, "train_step torch.manual_seed", k)})
    return out


def _step(fn, c):
    """``c["calls"]`` steps on one model and optimizer (the same batch each time); the last one is recorded."""
    import torch

    model = _tiny_model(c)
    optimizer = torch.optim.SGD(model.parameters(), lr=c["lr"])
    for _ in range(c["calls"]):
        loss, grad_norm = fn(model, optimizer, torch.from_numpy(c["idx"]), torch.from_numpy(c["targets"]),
                             c["max_norm"])
    return float(loss), float(grad_norm), {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}



# ----- perplexity and beam search
def _perplexity_cases():
    out = []
    for k, (B, T, kind) in enumerate([(3, 5, "int"), (1, 1, "int"), (2, 4, "bool"), (4, 3, "float"), (1, 6, "int"),
                                      (5, 2, "bool")]):
        r = case_rng(ASSIGNMENT, "perplexity", k)
        log_probs = np.log(r.uniform(0.01, 1.0, size=(B, T)))
        lengths = r.integers(1, T + 1, size=B)
        lengths[0] = T  # one full row, the others padded after a random length >= 1
        mask = np.arange(T)[None, :] < lengths[:, None]
        log_probs[~mask] = -30.0  # padding holds a value a forgotten mask would count
        dtype = {"int": np.int64, "bool": bool, "float": np.float64}[kind]
        out.append({"log_probs": log_probs, "mask": mask.astype(dtype)})
    return out


class TableStep:
    """A next-token table: ``step(prefix) -> (V,)`` natural-log probabilities, rebuilt from (kind, seed, V).

    - "random": log-softmax of ``scale * N(0, 1)`` logits drawn from a generator seeded by (seed, *prefix), so the
      distribution depends on the whole prefix, as a decoder's does; the eos logit is shifted by
      ``eos_shift * (t - 2)`` for a prefix of t tokens (bos included), so that ending grows likelier with length;
    - "ties": a distribution drawn from (seed, len(prefix)), the same for every prefix of a length, whose two most
      probable tokens get exactly the same probability (and so bit-identical log-probabilities).

    A prefix must be a sequence of ints that starts with ``bos``; anything else raises, so the case records an error.
    """

    def __init__(self, kind: str, seed: int, V: int, bos: int, eos: int, scale: float = 1.0, eos_shift: float = 0.0):
        self.kind, self.seed, self.V, self.bos, self.eos = kind, seed, V, bos, eos
        self.scale, self.eos_shift = scale, eos_shift

    def __call__(self, prefix):
        prefix = tuple(int(v) for v in prefix)
        if not prefix or prefix[0] != self.bos:
            raise ValueError(f"step expects a prefix that starts with bos = {self.bos}, got {prefix}")
        if self.kind == "random":
            z = self.scale * np.random.default_rng([self.seed, *prefix]).standard_normal(self.V)
            z[self.eos] += self.eos_shift * (len(prefix) - 2)
            return z - z.max() - np.log(np.exp(z - z.max()).sum())
        r = np.random.default_rng([self.seed, len(prefix)])
        p = r.uniform(0.2, 1.0, size=self.V)
        first, second = np.argsort(-p, kind="stable")[:2]
        p[second] = p[first]
        return np.log(p / p.sum())


# (kind, V, eos, beam_width, max_len, alpha, scale, eos_shift): real pruning; exhaustive widths (V = 3, max_len = 3
# has at most 3 * 2**2 = 12 candidates a step); width 1 (greedy); max_len 1; V = 2; alpha = 2 with width 2 (where a
# beam that kept k live hypotheses besides the finished ones would answer differently); tables with exact ties
BEAM_CASES = [("random", 3, 0, 2, 4, 0.0, 1.5, 1.0), ("random", 4, 1, 3, 5, 1.0, 1.5, 1.0),
              ("random", 3, 2, 18, 3, 0.5, 1.0, 0.5), ("random", 5, 0, 1, 5, 0.0, 2.0, 1.0),
              ("random", 2, 1, 2, 6, 1.0, 1.0, 0.5), ("random", 4, 3, 4, 1, 0.0, 1.0, 0.0),
              ("ties", 3, 0, 2, 4, 0.0, 1.0, 0.0), ("ties", 4, 2, 1, 4, 1.0, 1.0, 0.0),
              ("ties", 3, 1, 12, 3, 0.7, 1.0, 0.0), ("ties", 4, 2, 2, 5, 1.0, 1.0, 0.0),
              ("random", 6, 0, 5, 6, 2.0, 2.0, 1.0), ("random", 5, 0, 2, 6, 2.0, 1.0, 0.5),
              ("random", 4, 0, 2, 6, 2.0, 1.0, 0.0), ("random", 3, 0, 2, 6, 2.0, 1.0, 0.0)]


def _beam_cases():
    out = []
    for k, (kind, V, eos, width, max_len, alpha, scale, eos_shift) in enumerate(BEAM_CASES):
        out.append({"table": kind, "seed": case_seed(ASSIGNMENT, "beam_search", k), "V": V, "bos": V, "eos": eos,
                    "beam_width": width, "max_len": max_len, "alpha": alpha, "scale": scale, "eos_shift": eos_shift})
    return out


def _beam_call(fn, c):
    step = TableStep(c["table"], c["seed"], c["V"], c["bos"], c["eos"], c["scale"], c["eos_shift"])
    return fn(step, c["bos"], c["eos"], c["beam_width"], c["max_len"], alpha=c["alpha"])


def decoded_compare(student, expected, rtol: float, atol: float) -> str | None:
    """(tokens, score): the tokens exactly (any sequence of ints), the score within rtol/atol (``Check.compare``:
    a case that raised never reaches it)."""
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        return "expected a pair (tokens, score)"
    tokens, score = student
    if isinstance(tokens, np.ndarray):
        if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
            return f"tokens: an array of shape {tokens.shape} and dtype {tokens.dtype}, expected a sequence of ints"
        tokens = tokens.tolist()
    if not isinstance(tokens, (tuple, list)) or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                        for v in tokens):
        return "tokens: expected a tuple of ints"
    if tuple(int(v) for v in tokens) != tuple(expected[0]):
        return f"tokens {tuple(int(v) for v in tokens)} are not the best hypothesis (or lose its tie-break)"
    if isinstance(score, np.ndarray) and score.shape == ():
        score = score.item()
    if isinstance(score, bool) or not isinstance(score, (int, float, np.integer, np.floating)):
        return f"score: expected a float, got {type(score).__name__}"
    if score == expected[1] or np.isclose(score, expected[1], rtol=rtol, atol=atol):
        return None
    return f"score {float(score)!r} differs from the reference's (rtol={rtol:g}, atol={atol:g})"


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
    Check("perplexity", cases=_perplexity_cases, reference="rnn_helpers.perplexity:perplexity"),
    Check("beam_search", cases=_beam_cases, reference="rnn_helpers.decoding:beam_search",
          call=_beam_call, reference_call=_beam_call, compare=decoded_compare),
]
