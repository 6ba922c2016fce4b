"""rnn_helpers: the reference package of the open course on recurrent neural networks.

One concept per module (import from the module, CS231n style)::

    from rnn_helpers.simple_rnn import rnn_forward, rnn_backward
    from rnn_helpers.gru import gru_forward
    from rnn_helpers.lstm import lstm_forward

Conventions (the book's notation page, ``book/notation.md``): batch-first data ``x`` of shape ``(B, T, D)``, hidden
states ``(B, H)``, parameters with PyTorch's names, shapes and gate order (``W_ih (G*H, D)``, ``W_hh (G*H, H)``,
``b_ih (G*H,)``, ``b_hh (G*H,)``). Forward functions return ``(outputs..., cache)``; backward functions return a
dict of gradients keyed by the forward function's argument names. Caches are documented dicts of the reference's
own; the exercises fix simpler caches of their own (README.md, "Development", says how they differ).

Modules:

- ``simple_rnn``, ``gru`` (``variant="pytorch"`` or ``"reset_before"``), ``lstm``, ``deep_rnn``, ``bidirectional``:
  cells and sequences, forward and backward;
- ``gradcheck`` (``rel_error``, ``numerical_gradient``), ``training`` (clipping, truncated BPTT),
  ``gradient_flow`` (Jacobian and gradient norms over time), ``initialization``;
- ``output_layer`` (affine over time, softmax cross-entropy), ``embedding``, ``encoding`` (one-hot, bag of words,
  padding), ``param_count``;
- ``torch_bridge`` (parameter sets to and from ``torch.nn.RNN/GRU/LSTM`` and their cells);
- ``text``, ``sampling``, ``forecasting``, ``char_model``, ``perplexity``, ``decoding``: chapter 06's graded pieces;
- ``datasets`` (offline data), ``figures`` (the book's figures), ``applications`` (chapter 06's torch models and
  their training, ``rnn-course applications``);
- ``checks`` (kernel side of grading: what the hidden tests import) and ``grader`` (grader side: never in the
  student's kernel); ``grader/reference_modules.py`` lists the modules above that the grading kernel lacks.

Used in: every chapter (through its modules).
"""

__version__ = "0.1.0"
