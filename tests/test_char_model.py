"""``rnn_helpers.char_model`` (chapter 06, graded): the torch character model and one clipped training step."""
import pytest
import torch

from rnn_helpers import char_model, text


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_char_model_shapes_and_parameter_names(cell):
    torch.manual_seed(0)
    m = char_model.CharModel(7, 5, 6, cell=cell)
    logits = m(torch.zeros(3, 4, dtype=torch.int64))
    assert logits.shape == (3, 4, 7)
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["embedding.weight"] == (7, 5) and shapes["rnn.weight_ih_l0"] == (G * 6, 5)
    assert shapes["rnn.weight_hh_l0"] == (G * 6, 6) and shapes["head.weight"] == (7, 6)


def test_char_model_state_continues_a_sequence():
    torch.manual_seed(1)
    m = char_model.CharModel(5, 4, 8, cell="lstm")
    idx = torch.tensor([[0, 3, 1, 4, 2]])
    whole = m(idx)
    first, state = m.forward_with_state(idx[:, :2])
    rest, _ = m.forward_with_state(idx[:, 2:], state)
    assert torch.allclose(torch.cat([first, rest], 1), whole, atol=1e-6)


def test_char_model_rejects_bad_input():
    with pytest.raises(ValueError, match="cell"):
        char_model.CharModel(5, 4, 8, cell="transformer")
    m = char_model.CharModel(5, 4, 8)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        m(torch.zeros(4, dtype=torch.int64))


def test_train_step_learns_hello():
    torch.manual_seed(0)
    vocab = text.build_vocab("hello")
    ids = torch.from_numpy(text.encode("hello", vocab))[None]
    m = char_model.CharModel(len(vocab), 8, 16, cell="gru")
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    losses = [char_model.train_step(m, opt, ids[:, :-1], ids[:, 1:], 1.0)[0] for _ in range(60)]
    assert losses[-1] < 0.1 * losses[0]
    assert m(ids[:, :-1]).argmax(-1)[0].tolist() == ids[0, 1:].tolist()  # h->e, e->l, l->l, l->o


def test_train_step_returns_norm_before_clipping_and_clips():
    torch.manual_seed(0)
    m = char_model.CharModel(4, 3, 5, cell="rnn")
    opt = torch.optim.SGD(m.parameters(), lr=0.0)  # lr 0: the step leaves the weights, we look at the grads
    x = torch.tensor([[0, 1, 2, 3]])
    y = torch.tensor([[1, 2, 3, 0]])
    loss, norm = char_model.train_step(m, opt, x, y, max_norm=1e-3)
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in m.parameters()))
    assert norm > 1e-3 and float(total) == pytest.approx(1e-3, rel=1e-3)
    expected = torch.nn.functional.cross_entropy(m(x)[0], y[0]).detach()
    assert loss == pytest.approx(float(expected), rel=1e-6)


def test_train_step_ignores_padding_targets():
    torch.manual_seed(0)
    m = char_model.CharModel(4, 3, 5, cell="gru")
    opt = torch.optim.SGD(m.parameters(), lr=0.0)
    x = torch.tensor([[0, 1, 2, 3]])
    loss_pad, _ = char_model.train_step(m, opt, x, torch.tensor([[1, 2, -100, -100]]), None)
    expected = torch.nn.functional.cross_entropy(m(x)[0, :2], torch.tensor([1, 2])).detach()
    assert loss_pad == pytest.approx(float(expected), rel=1e-6)
