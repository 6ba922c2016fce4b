"""Embedding lookup against torch.nn.functional.embedding; repeated ids accumulate their gradients."""
import numpy as np
import pytest
import torch

from rnn_helpers.embedding import embedding_backward, embedding_forward
from rnn_helpers.encoding import one_hot


def test_embedding_matches_torch_with_repeated_ids():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((5, 3))
    idx = np.array([[0, 2, 2], [4, 2, 0]])          # id 2 three times, id 0 twice, ids 1 and 3 never
    dx = rng.standard_normal((2, 3, 3))
    x, cache = embedding_forward(idx, W)
    Wt = torch.tensor(W, requires_grad=True)
    out = torch.nn.functional.embedding(torch.tensor(idx), Wt)
    assert np.array_equal(x, out.detach().numpy())
    out.backward(torch.tensor(dx))
    dW = embedding_backward(dx, cache)["W"]
    assert np.allclose(dW, Wt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert np.allclose(dW[2], dx[0, 1] + dx[0, 2] + dx[1, 1])
    assert np.all(dW[[1, 3]] == 0)


def test_embedding_is_one_hot_times_matrix():
    W = np.arange(12.0).reshape(4, 3)
    idx = np.array([[3, 1]])
    assert np.array_equal(embedding_forward(idx, W)[0], one_hot(idx, 4) @ W)


def test_out_of_range_ids_are_refused():
    with pytest.raises(ValueError, match=r"expected ids in \[0, V\) = \[0, 4\)"):
        embedding_forward(np.array([[4]]), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="integer"):
        embedding_forward(np.array([[1.0]]), np.zeros((4, 2)))
