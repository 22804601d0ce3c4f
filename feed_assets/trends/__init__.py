"""The pure part of the trend layer: which terms a paper uses, and which terms are rising.

Nothing here touches Dagster, DuckDB or the file system; the assets that store term counts
call these functions.

- ``terms``: a paper's terms (title/abstract n-grams, Hugging Face keywords, arXiv
  categories), normalized so that counts of one term over many papers can be compared.
- ``significance``: ``rising_terms``, the terms whose share of papers in a trailing window is
  significantly higher than in the baseline period before it (exact conditional binomial
  test, Benjamini-Hochberg per kind, ranked by a smoothed log-odds ratio).
- ``synthetic``: a seeded, stationary synthetic corpus with an optional planted trend, for
  tests and demos of the detector.
"""
