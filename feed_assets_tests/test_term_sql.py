"""The SQL term extraction (``term_sql``) gives exactly the terms of ``terms.paper_terms``.

Three comparisons, paper by paper: generated texts made of the pieces the rules are about
(hypothesis), every entry of the bundled sample inbox, and every entry of the real dumps in
``../shared/data`` when that folder is present. Plus the counts of ``count_terms``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed_assets.parsing import parse_dump
from feed_assets.sample_data import generate_sample_inbox
from feed_assets.trends import terms
from feed_assets.trends.term_sql import computed_unicode_classes, count_terms, paper_terms_sql, term_counts_sql
from feed_assets.trends.terms import paper_terms

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAPERS_COLUMNS = "paper_id varchar, feed_date date, title varchar, abstract varchar, keywords varchar[], categories varchar[]"

Paper = tuple[str | None, str | None, list[str | None] | None, list[str | None] | None]


@pytest.fixture(scope="module")
def con():
    """One connection with a view of the SQL terms of the table ``papers`` (parsed once)."""
    with duckdb.connect() as connection:
        connection.execute(f"create table papers ({PAPERS_COLUMNS})")
        connection.execute(f"create view sql_terms as {paper_terms_sql('select * from papers')}")
        yield connection


def sql_terms_of(con: duckdb.DuckDBPyConnection, papers: list[Paper], day: dt.date = dt.date(2024, 3, 1)
                 ) -> list[list[tuple[str, str]]]:
    """The SQL terms of each paper, as sorted ``(kind, term)`` pairs like ``paper_terms``."""
    con.execute("delete from papers")
    con.executemany("insert into papers values (?, ?, ?, ?, ?, ?)",
                    [(str(i), day, *paper) for i, paper in enumerate(papers)])
    found: dict[str, list[tuple[str, str]]] = {str(i): [] for i in range(len(papers))}
    for paper_id, _, kind, term in con.execute("select * from sql_terms").fetchall():
        found[paper_id].append((kind, term))
    return [sorted(found[str(i)]) for i in range(len(papers))]


def assert_same_terms(con: duckdb.DuckDBPyConnection, papers: list[Paper]) -> None:
    """Every paper's SQL terms equal its Python terms (the first differing papers are shown)."""
    got = sql_terms_of(con, papers)
    differences = []
    for paper, sql_pairs in zip(papers, got, strict=True):
        python_pairs = paper_terms(paper[0], paper[1], paper[2] or (), paper[3] or ())
        if sql_pairs != python_pairs:
            differences.append({"paper": paper,
                                "only_sql": sorted(set(sql_pairs) - set(python_pairs)),
                                "only_python": sorted(set(python_pairs) - set(sql_pairs))})
    assert not differences, f"{len(differences)} of {len(papers)} papers differ, first: {differences[:3]}"


# --- generated texts -----------------------------------------------------------------------

WORD_TABLES = sorted(set(terms._IRREGULAR_PLURALS) | set(terms._IRREGULAR_PLURALS.values())
                     | terms._PLURALS_OF_IS_US | terms._SINGULAR_AS_US | terms._UNCHANGED_IES
                     | terms._IE_NOUNS | terms._CHE_NOUNS | terms._PLURALS_OF_ICS)
PIECES = [
    # hyphens, apostrophes, possessives, curly quotes
    "fine-tuning", "Fine-Tuning", "state-of-the-art", "LLM-agents", "LLM-Agents", "x--y", "-", "a-", "-b",
    "model's", "models'", "it's", "don't", "LLM's", "Paper\u2019s", "\u2019s", "'", "'s", "O'Neil", "MODEL'S",
    "\u201cquoted\u201d", "\u2018single\u2019", '"', "x'\u017f",
    # digits, versions, acronyms, mixed case
    "GPT-3.5", "GPT-4", "3.5", "1.2.3", "v1.2a", "12.34", "a.b", "e.g.", "i.e.", "2024", "10x", "3D", "1.a",
    "LLMs", "ViTs", "ResNets", "RLHF", "DiT-based", "NeRFs", "LoRA", "BAses", "EMOJIS", "LLM", "LLMS", "GANs",
    "Transformer", "Transformers", "DiTs", "xLSTMs", "QAs", "CNNs-based",
    # URLs, domains, TeX
    "https://github.com/x/y", "http://a.b", "www.example.org", "github.com/x", "foo.io", "a.com-based",
    "x.COM", "ex.ai.", "sub.domain.edu/path", "a.comb", "www.", "HTTPS://X", "awww.b", "foohttp://x",
    "a.com$x$", "b.net$", "c.org.", "-d.io", ".e.edu", "f_g.com", "h.com_i", "github.com", "co.ai-j",
    "$x^2$", "$", "$\\alpha$", "$a b$", "$$",
    # plural rules
    "studies", "approaches", "classes", "boxes", "wishes", "biases", "robotics", "metrics", "ideas",
    "cases", "gas", "status", "this", "analysis", "bus", "series", "species", "movies", "caches",
    "benches", "dynamics", "physics", "topics", "models", "gaussian", "its", "ies", "sses", "xes",
    # stopwords and boilerplate, single characters
    "the", "of", "and", "we", "propose", "novel", "approach", "paper", "results", "The", "We", "Novel",
    "a", "X", "é", "I", "s",
    # punctuation and separators
    ".", ",", ";", ":", "!", "?", "(", ")", "[", "]", "{", "}", "\u2013", "\u2014", "/", "+", "&", "_",
    "__init__", "snake_case", "#", "@", "%",
    # unicode letters, digits and spaces
    "café", "Über", "naïve", "Σ", "ΑΣ", "aΣ", "ΣΑ", "λΣ", "Σs", "İstanbul", "İN", "straße", "ﬁne", "Ⅻ", "²",
    "٣", "日本語", "模型", "e\u0301", "ǅ", "\u017f", "\u212a", "ÉTUDES", "Études", "ΔΣ-modulators",
    " ", "\n", "\t", "\u00a0", "\u3000", "\u2009", "\u200b",
    # content words
    "graph", "neural", "network", "video", "generation", "sparse", "attention", "language", "model",
    "diffusion", "learning", "reinforcement", "agents", "benchmark", "data",
] + WORD_TABLES + [word.capitalize() for word in WORD_TABLES[:20]] + sorted(terms.STOPWORDS)[:30] \
  + sorted(terms.BOILERPLATE)[:30]

pieces = st.one_of(
    st.sampled_from(PIECES),
    st.sampled_from(PIECES).map(str.upper),
    st.text(max_size=4),  # anything at all
)
separators = st.sampled_from([" ", " ", " ", "", "-", ". ", ", ", "\n", "'", "/", "$", "."])


@st.composite
def texts(draw) -> str | None:
    """A text of tricky pieces with assorted separators (sometimes None or empty)."""
    if draw(st.integers(0, 20)) == 0:
        return draw(st.sampled_from([None, ""]))
    parts = draw(st.lists(st.tuples(pieces, separators), max_size=25))
    return "".join(piece + separator for piece, separator in parts)


keyword_lists = st.one_of(st.none(), st.lists(st.one_of(st.none(), texts()), max_size=4))
category_lists = st.one_of(st.none(), st.lists(st.one_of(
    st.none(), st.sampled_from(["cs.LG", " cs.CL ", "", "\u3000", "stat.ML\n", "cs.CV"]), st.text(max_size=5)),
    max_size=4))
papers_strategy = st.lists(st.tuples(texts(), texts(), keyword_lists, category_lists), min_size=15, max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(papers=papers_strategy)
def test_sql_terms_equal_python_terms_on_generated_texts(con, papers):
    assert_same_terms(con, papers)


@pytest.mark.parametrize("text", [
    "We propose a novel approach to video generation using sparse attention.",
    "Fine-Tuning LLMs for DiT-based Video Generation with GPT-3.5 (see github.com/x/y).",
    "Code: https://github.com/a/b, www.x.org and $\\mathcal{O}(n^2)$ time; indices of matrices.",
    "The model\u2019s analyses of LLMs' biases \u2014 \u201cstudies\u201d of ResNets and ViTs.",
    "aΣ ΣΑ λΣ ΑΣs İN İstanbul ÉTUDES ﬁnes \u212aelvins x'\u017f",
    "a.com$x$ y b.net$z c.org.d -d.io .e.edu h.com_i awww.b foohttp://x co.ai-j",
])
def test_sql_terms_equal_python_terms_on_examples(con, text):
    assert_same_terms(con, [(text, text, [text], ["cs.LG"])])


# --- the bundled sample inbox and the real dumps -------------------------------------------

def entries_of(files: list[tuple[Path, str, dt.date]]) -> list[Paper]:
    """The (title, abstract, keywords, categories) of every entry of the given dumps."""
    papers: list[Paper] = []
    for path, name, day in files:
        for entry in parse_dump(path.read_bytes(), name, day).entries:
            papers.append((entry.title, entry.abstract, list(entry.keywords), list(entry.categories)))
    return papers


def test_sql_terms_equal_python_terms_on_the_sample_inbox(con, tmp_path):
    generate_sample_inbox(tmp_path, start=dt.date(2024, 3, 1), days=16)
    files = [(path, f"inbox/{path.parent.name}/{path.name}", dt.date.fromisoformat(path.parent.name))
             for path in sorted(tmp_path.glob("*/*")) if path.is_file()]
    papers = entries_of(files)
    assert len(papers) > 100
    assert_same_terms(con, papers)


@pytest.mark.skipif(not SHARED_DATA.is_dir(),
                    reason=f"real dumps folder {SHARED_DATA} is absent (it sits beside the project)")
@pytest.mark.parametrize("channel", ["hf-daily-papers", "arxiv-listings"])
def test_sql_terms_equal_python_terms_on_the_real_dumps(con, channel):
    prefix = "hf" if channel == "hf-daily-papers" else "arxiv"
    files = [(path, f"{prefix}/{path.name}", dt.date.fromisoformat(path.stem))
             for path in sorted((SHARED_DATA / channel).iterdir()) if path.is_file()]
    papers = entries_of(files)
    assert papers
    for start in range(0, len(papers), 5000):
        assert_same_terms(con, papers[start:start + 5000])


# --- counts --------------------------------------------------------------------------------

def test_count_terms_counts_papers_per_day_and_term(con):
    days = [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]
    papers = [("Sparse attention", "Sparse attention for video. Sparse models.", ["Sparse Attention"], ["cs.LG"]),
              ("Video models", None, [], ["cs.LG", "cs.CV"]),
              ("Sparse video", "", ["video"], [])]
    con.execute("delete from papers")
    con.executemany("insert into papers values (?, ?, ?, ?, ?, ?)",
                    [(str(i), days[i % 2], *paper) for i, paper in enumerate(papers)])
    con.execute("create or replace temp table counted (feed_date date, kind varchar, term varchar, papers integer)")
    con.execute("begin")
    inserted = count_terms(con, "select * from papers where feed_date between ? and ?", "counted", days)
    con.execute("commit")
    expected = Counter()
    for i, (title, abstract, keywords, categories) in enumerate(papers):
        for kind, term in paper_terms(title, abstract, keywords, categories):
            expected[(days[i % 2], kind, term)] += 1
    rows = con.execute("select feed_date, kind, term, papers from counted").fetchall()
    assert inserted == len(rows) == len(expected)
    assert {(day, kind, term): n for day, kind, term, n in rows} == dict(expected)
    assert ("text", "sparse attention") in {(kind, term) for day, kind, term, n in rows if day == days[0]}
    assert con.execute(f"select count(*) from ({term_counts_sql('select * from papers')})").fetchone()[0] == len(rows)


def test_the_unicode_classes_in_use_are_what_this_python_computes():
    """The classes are shipped (computing them costs about 2 s a process) for one Unicode
    database: what the SQL uses must be this Python's own, shipped or computed."""
    from feed_assets.trends import term_sql

    computed = computed_unicode_classes()
    assert term_sql._classes() == computed["classes"]
    assert {char: term_sql._case_variants(char) for char in computed["case_variants"]} == computed["case_variants"]
    assert "\u212a" in computed["case_variants"]["k"]  # the Kelvin sign folds to k: a real Unicode fold
