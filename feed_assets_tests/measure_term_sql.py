"""Throughput and peak memory of the SQL term counts (``term_sql.count_terms``) vs Python.

Not a test: nothing here asserts on time. Builds ``--papers`` arXiv-like papers in a DuckDB
file (abstracts of 6 to 9 sentences drawn from the real abstracts in ``../shared/data``, or
from the synthetic corpus when that folder is absent), spread over days at ``--per-day``
papers a day (ten years of arXiv is about 2.5 million papers, ~700 a day), then in a fresh
process per setting counts every day's terms with ``count_terms`` in chunks of
``--chunk-days`` days, inside one transaction, and prints papers/s and the peak RSS. Also
times ``terms.paper_terms`` on a sample of the papers for comparison.

    .venv/bin/python -m feed_assets_tests.measure_term_sql --papers 200000 --chunk-days 1 7 31 92
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
START = dt.date(2015, 1, 1)
PAPERS_COLUMNS = "paper_id varchar, feed_date date, title varchar, abstract varchar, keywords varchar[], categories varchar[]"
CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "math.OC", "cs.IR", "eess.IV", "q-bio.NC"]


def sentence_pool() -> tuple[list[str], list[str], list[str]]:
    """Titles, abstract sentences and keywords to draw papers from (real ones when present)."""
    titles, sentences, keywords = [], [], []
    if SHARED_DATA.is_dir():
        from feed_assets.parsing import parse_dump
        for channel, prefix in (("hf-daily-papers", "hf"), ("arxiv-listings", "arxiv")):
            for path in sorted((SHARED_DATA / channel).iterdir()):
                for entry in parse_dump(path.read_bytes(), f"{prefix}/{path.name}",
                                        dt.date.fromisoformat(path.stem)).entries:
                    if entry.title:
                        titles.append(entry.title)
                    if entry.abstract:
                        sentences += [s.strip() + "." for s in entry.abstract.split(". ") if s.strip()]
                    keywords += list(entry.keywords)
    else:
        from feed_assets.trends.synthetic import synthetic_corpus
        for papers in synthetic_corpus(START, 30, papers_per_day=200).values():
            for title, abstract in papers:
                titles.append(title)
                sentences += [s.strip() + "." for s in abstract.split(". ") if s.strip()]
    return titles, sentences, keywords or ["large language model", "diffusion"]


def build(path: str, papers: int, per_day: int, seed: int = 0) -> None:
    """Write ``papers`` drawn papers to the table ``papers`` of the DuckDB file ``path``."""
    titles, sentences, keywords = sentence_pool()
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(papers):
        abstract = " ".join(sentences[j] for j in rng.integers(0, len(sentences), rng.integers(6, 10)))
        rows.append((f"p{i:08d}", START + dt.timedelta(days=i // per_day), titles[rng.integers(len(titles))],
                     abstract, [keywords[j] for j in rng.integers(0, len(keywords), rng.integers(0, 6))],
                     [CATEGORIES[j] for j in rng.integers(0, len(CATEGORIES), rng.integers(1, 4))]))
    with duckdb.connect(path) as con:
        con.execute(f"create or replace table papers ({PAPERS_COLUMNS})")
        frame = pd.DataFrame(rows, columns=["paper_id", "feed_date", "title", "abstract", "keywords", "categories"])
        con.execute("insert into papers select * from frame")


def run_sql(path: str, chunk_days: int, threads: int, memory_limit: str) -> dict:
    """Count every day's terms in chunks of ``chunk_days`` (this process's peak RSS is the result's)."""
    from feed_assets.trends.term_sql import count_terms
    with duckdb.connect(path) as con:
        con.execute(f"set threads = {threads}")
        con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("create or replace table term_daily_counts (feed_date date, kind varchar, term varchar, papers integer)")
        first, last = con.execute("select min(feed_date), max(feed_date) from papers").fetchone()
        papers = con.execute("select count(*) from papers").fetchone()[0]
        started = time.perf_counter()
        rows = 0
        con.execute("begin")
        day = first
        while day <= last:
            end = day + dt.timedelta(days=chunk_days - 1)
            rows += count_terms(con, "select * from papers where feed_date between ? and ?",
                                "term_daily_counts", [day, end])
            day = end + dt.timedelta(days=1)
        con.execute("commit")
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"chunk_days": chunk_days, "papers": papers, "seconds": round(seconds, 1),
            "papers_per_s": round(papers / seconds), "rows": rows, "peak_rss_mib": round(peak)}


def run_python(path: str, sample: int) -> dict:
    """``paper_terms`` over the first ``sample`` papers, one at a time."""
    from feed_assets.trends.terms import paper_terms
    with duckdb.connect(path, read_only=True) as con:
        papers = con.execute(f"select title, abstract, keywords, categories from papers limit {sample}").fetchall()
    started = time.perf_counter()
    for title, abstract, keywords, categories in papers:
        paper_terms(title, abstract, keywords, categories)
    seconds = time.perf_counter() - started
    return {"python_papers": len(papers), "seconds": round(seconds, 1), "papers_per_s": round(len(papers) / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=200_000)
    parser.add_argument("--per-day", type=int, default=700)
    parser.add_argument("--chunk-days", type=int, nargs="+", default=[1, 7, 31, 92])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--python-sample", type=int, default=20_000)
    parser.add_argument("--db", help="reuse (or create) this DuckDB file instead of a temporary one")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one SQL setting
    parser.add_argument("--python-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_sql(args.db, args.one, args.threads, args.memory_limit)))
        return
    if args.python_only:
        print(json.dumps(run_python(args.db, args.python_sample)))
        return
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or str(Path(folder) / "measure.duckdb")
        if not Path(db).exists():
            started = time.perf_counter()
            build(db, args.papers, args.per_day)
            print(f"built {args.papers} papers in {time.perf_counter() - started:.0f} s", flush=True)
        for chunk_days in args.chunk_days:
            out = subprocess.run([sys.executable, "-m", "feed_assets_tests.measure_term_sql", "--db", db,
                                  "--one", str(chunk_days), "--threads", str(args.threads),
                                  "--memory-limit", args.memory_limit],
                                 capture_output=True, text=True, check=True).stdout
            print("sql", out.strip(), flush=True)
        out = subprocess.run([sys.executable, "-m", "feed_assets_tests.measure_term_sql", "--db", db,
                              "--python-only", "--python-sample", str(args.python_sample)],
                             capture_output=True, text=True, check=True).stdout
        print("python", out.strip(), flush=True)


if __name__ == "__main__":
    main()
