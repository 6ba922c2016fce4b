"""pack_padded_sequence against the masking of chapter 01: the same final states and the same masked loss."""
import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_helpers import encoding

MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
IDS = [[3, 1, 4, 1, 5], [9, 2], [6, 5, 3, 5], [8]]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_packed_equals_masked(kind):
    padded, mask = encoding.pad_sequences(IDS, pad_value=0)
    lengths = mask.sum(axis=1)
    torch.manual_seed(0)
    embed = torch.nn.Embedding(10, 4, dtype=torch.float64)
    rnn = MODULES[kind](4, 6, batch_first=True, dtype=torch.float64)
    readout = torch.nn.Linear(6, 10, dtype=torch.float64)
    targets = torch.from_numpy(np.random.default_rng(0).integers(0, 10, size=padded.shape))
    m = torch.from_numpy(mask)
    with torch.no_grad():
        x = embed(torch.from_numpy(padded))
        # masking: run over the padding, read each state at its true end, average the loss over real positions
        h_all, _ = rnn(x)
        final_masked = h_all[torch.arange(len(IDS)), torch.from_numpy(lengths - 1)]
        nll = torch.nn.functional.cross_entropy(readout(h_all).transpose(1, 2), targets, reduction="none")
        loss_masked = (nll * m).sum() / m.sum()
        # packing
        packed = pack_padded_sequence(x, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False)
        out_packed, state = rnn(packed)
        out, out_lengths = pad_packed_sequence(out_packed, batch_first=True)
        loss_packed = torch.nn.functional.cross_entropy(readout(out)[m], targets[m])
    h_n = state[0] if kind == "lstm" else state
    assert out_lengths.tolist() == lengths.tolist()
    assert packed.batch_sizes.tolist() == [4, 3, 2, 2, 1]
    assert torch.max(torch.abs(final_masked - h_n[0])) < 1e-12
    assert torch.max(torch.abs(out[m] - h_all[m])) < 1e-12
    assert torch.all(out[~m] == 0)                                  # pad_packed_sequence writes zeros
    assert abs(float(loss_masked) - float(loss_packed)) < 1e-12
    # the padding value never matters to either: change it and nothing real changes
    padded2 = padded.copy()
    padded2[~mask] = 7
    with torch.no_grad():
        h2, _ = rnn(embed(torch.from_numpy(padded2)))
    assert torch.max(torch.abs(h2[m] - h_all[m])) < 1e-12


def test_unpacked_bidirectional_reads_padding_but_packed_does_not():
    """Why packing matters for a bidirectional layer: on a padded batch the backward layer starts in the padding."""
    torch.manual_seed(0)
    rnn = torch.nn.GRU(2, 3, batch_first=True, bidirectional=True, dtype=torch.float64)
    x = torch.randn(2, 5, 2, dtype=torch.float64)
    x[1, 2:] = 0.0                                                  # the second sequence has 2 real steps
    lengths = torch.tensor([5, 2])
    with torch.no_grad():
        padded_out, _ = rnn(x)
        packed_out, _ = pad_packed_sequence(
            rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))[0], batch_first=True)
        alone, _ = rnn(x[1:, :2])                                   # the short sequence on its own
    assert torch.max(torch.abs(packed_out[1, :2] - alone[0])) < 1e-12
    assert torch.max(torch.abs(padded_out[1, :2, 3:] - alone[0, :, 3:])) > 1e-6   # backward half polluted
    assert torch.max(torch.abs(padded_out[1, :2, :3] - alone[0, :, :3])) < 1e-12  # forward half is not
