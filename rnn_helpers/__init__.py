"""rnn_helpers: the reference package of the open course on recurrent neural networks.

One concept per module (import from the module, CS231n style)::

    from rnn_helpers.simple_rnn import rnn_forward, rnn_backward
    from rnn_helpers.gru import gru_forward
    from rnn_helpers.lstm import lstm_forward

Conventions (COURSE.md): batch-first data ``x`` of shape ``(B, T, D)``, hidden states ``(B, H)``,
parameters with PyTorch's names, shapes and gate order (``W_ih (G*H, D)``, ``W_hh (G*H, H)``,
``b_ih (G*H,)``, ``b_hh (G*H,)``). Forward functions return ``(outputs..., cache)``; backward
functions return a dict of gradients keyed by the forward function's argument names.
"""

__version__ = "0.1.0"
