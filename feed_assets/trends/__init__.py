"""The pure part of the trend layer: which terms a paper uses, and which terms are rising.

Nothing here touches Dagster, DuckDB or the file system; the assets that store term counts
call these functions.

- ``terms``: a paper's terms (title/abstract n-grams, Hugging Face keywords, arXiv
  categories), normalized so that counts of one term over many papers can be compared.
- ``windows``: a term's papers in the window and the baseline of every day and time scale,
  from one cumulative sum per term.
- ``significance``: the ranked lists of rising terms per day, scale and kind (ranked by a
  lower confidence bound of the rate ratio, kept even when nothing passes), each flagged
  ``significant`` by the exact conditional binomial test and Benjamini-Hochberg over the
  whole day.
- ``bursts``: Kleinberg's two-state burst model over a term's daily papers against the day's
  new papers, run forward so that a stored state continues over new days.
- ``synthetic``: a seeded, stationary synthetic corpus with an optional planted trend, for
  tests and demos of the detector.
"""
