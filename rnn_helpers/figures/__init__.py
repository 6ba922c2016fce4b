"""Figures of the book, drawn here with matplotlib (one module per figure family).

Every figure function returns a ``matplotlib.figure.Figure`` and takes no data from the network.
``style.apply()`` sets the one figure style the whole book uses.

Used in: every chapter.
"""
