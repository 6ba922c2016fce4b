"""Data sets of the course: real data read from installed packages, synthetic data made with a seed.

Nothing here downloads anything, and nothing here imports a graded module (``text``, ``sampling``,
``forecasting``, ``char_model``), so these loaders stay available in the stripped grading kernel.

- ``names``: US census surnames and first names, read from the ``names`` package's bundled files.
- ``sentiment``: short reviews whose label depends on negation and word order.
- ``adding``: the adding problem of Hochreiter & Schmidhuber (1997).
- ``childrens_book``: sentences over {Doug, Jane, Spot, saw, .}.
- ``series``: sunspots and Mauna Loa CO2 from statsmodels' bundled data sets.
- ``seq2seq``: strings of symbols and their reversals, with <pad>, <bos> and <eos> (sequence to sequence).

Used in: chapter 06 (applications).
"""
