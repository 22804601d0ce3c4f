"""A deterministic synthetic arXiv feed at arXiv scale, written as an inbox for ``make bench``.

``write_arxiv_inbox(inbox, start, end)`` writes ``inbox/YYYY-MM-DD/arxiv-listing.jsonl`` for
each listing day in ``start``..``end``: about ``papers_per_weekday`` new papers a weekday
(Poisson, Monday busiest and Friday quietest, mean over the week = the requested count), a
few on Saturdays (``SATURDAY_SHARE`` of it), none on Sundays (no folder). Ten years at 1,000
a weekday is about 2.7M lines.

Each line is what ``feed_assets.parsing.arxiv_listing`` reads, with the fields
``feed_assets.sample_data._arxiv_record`` writes (id, pdf, abs, authors, title, categories,
comment, summary with arXiv's hard line breaks):

- **ids** ``YYMM.NNNNN`` with the month of the listing day, unique: day ``d`` of the month
  numbers its papers from ``(d - 1) * IDS_PER_DAY + 1``.
- **re-listings**: ``RELIST_SHARE`` of the new papers come back 1 to 14 days later (never
  on a Sunday, never after ``end``) as ``<id>v2`` with the same title and abstract, after
  the day's new papers, as arXiv lists cross-lists and replacements.
- **text** comes from the invented Zipf language of ``feed_assets.trends.synthetic`` (its
  3,000 words and 300 phrases, openers and connectors), extended here with a rarer tail of
  invented words, plurals, hyphenated compounds (``self-toravel``, ``kimuzon-toravel``) and
  acronyms of the phrases (``graph neural network (GNN)`` style), so stopwords and
  boilerplate cut the text into short runs of content words as in real abstracts. Titles are
  one or two title-cased chunks (sometimes ``ACR: ...``); abstracts are 8 to 11 sentences,
  about 120 to 180 words; 1 to 8 authors from an invented pool (a few with accents); 1 to 3
  categories, primary first, from a realistic list (cs.LG, cs.CL, cs.CV, stat.ML, ...).

Deterministic: the same arguments give the same bytes. Every day draws from its own random
stream (``seed`` and the date), so a day's new papers do not depend on ``start``; only its
re-listed lines do (papers listed before ``start`` are never re-listed). Generation is
vectorized with numpy per day and streamed to disk, so memory stays at one day's text.

Run ``python -m feed_assets_tests.synthetic_feed OUT --start 2016-01-01 --end 2025-12-31``
to write an inbox and print how long it took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from feed_assets.trends.synthetic import (
    _CONNECTORS,
    _CONSONANTS,
    _FINALS,
    _OPENERS,
    _TITLE_CONNECTORS,
    _VOWELS,
    _is_clean_word,
    world,
    zipf_probabilities,
)

FILE_NAME = "arxiv-listing.jsonl"
DEFAULT_SEED = 20250101
# language extension and author pool: fixed for every seed, like trends.synthetic's world
LANGUAGE_SEED = 72016
TAIL_WORDS = 20_000  # rarer invented words after the 3,000 of trends.synthetic
HYPHENATED = 1_500
AUTHOR_POOL = 40_000

WEEKDAY_FACTORS = (1.15, 1.05, 1.0, 0.95, 0.85)  # Monday..Friday, mean 1.0
SATURDAY_SHARE = 0.04
RELIST_SHARE = 0.03
RELIST_MAX_DELAY = 14
IDS_PER_DAY = 3_200  # 31 * 3,200 < 100,000: five-digit sequence numbers stay unique in a month

SENTENCES = (8, 11)  # per abstract, inclusive
CHUNKS = (3, 6)  # per sentence, inclusive
TITLE_CHUNKS = (1, 2)
# content-chunk kinds in abstracts: words run, phrase, phrase with its acronym, acronym, hyphenated
CHUNK_KIND_P = np.array([0.58, 0.24, 0.05, 0.06, 0.07])
RUN_LENGTH_P = np.array([0.55, 0.3, 0.15])
CATEGORY_COUNT_P = np.array([0.45, 0.35, 0.2])
PLURAL_SHARE = 0.12
WRAP_COLUMN = 78

CATEGORIES = (
    "cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "cs.CR", "cs.NE", "cs.SD",
    "eess.IV", "eess.AS", "eess.SP", "math.OC", "cs.HC", "cs.MA", "cs.DC", "cs.SE", "q-bio.NC",
    "cs.DB", "physics.comp-ph", "math.ST", "cs.GR", "cs.CY", "q-fin.ST",
)
COMMENTS = ("12 pages, 5 figures", "Accepted at NeurIPS", "Preprint, under review", "8 pages",
            "Code: see paper", "Camera-ready version", "30 pages, 11 figures, 4 tables")
_FIRST_NAMES_EXTRA = ("José", "Zoë", "Jürgen", "Łukasz", "Chloé", "Søren", "Ngọc", "İlker")
_HYPHEN_PREFIXES = ("self", "multi", "cross", "semi", "non", "pre", "co", "meta", "zero-shot", "few-shot",
                    "end-to-end", "long-range", "low-rank", "fine-grained")


@dataclass
class FeedStats:
    """What ``write_arxiv_inbox`` wrote."""

    start: dt.date
    end: dt.date
    files: int = 0
    new_papers: int = 0
    relisted: int = 0
    bytes: int = 0
    seconds: float = 0.0
    lines_per_day: dict[dt.date, int] = field(default_factory=dict)  # new and re-listed, per written day

    @property
    def lines(self) -> int:
        return self.new_papers + self.relisted


@dataclass(frozen=True)
class _Language:
    """One table of text tokens (each JSON-safe, most with a leading space) and where each kind starts."""

    tokens: np.ndarray  # object array of str: base forms, then newline forms, then no-space forms
    lengths: np.ndarray  # length of each base token's text once the JSON escape is read
    spaced: np.ndarray  # whether each base token starts with a space (a line may break there)
    size: int  # number of base tokens; the newline form of token i is i + size, no-space form i + 2 * size
    word: int  # offsets of each kind in the base table
    word_title: int
    plural: int
    phrase: int
    phrase_title: int
    phrase_acr: int
    acronym: int
    hyphen: int
    hyphen_title: int
    opener: int
    connector: int
    title_connector: int
    colon: int
    period: int
    word_lookup: np.ndarray
    phrase_lookup: np.ndarray
    hyphen_lookup: np.ndarray
    n_words: int
    n_phrases: int
    n_hyphen: int
    authors: tuple[str, ...]  # each already a JSON string literal
    author_lookup: np.ndarray
    category_lookup: np.ndarray
    chunk_kind_lookup: np.ndarray
    run_length_lookup: np.ndarray
    category_count_lookup: np.ndarray


def _title_case(text: str) -> str:
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in text.split(" "))


def _invented_words(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` invented words shaped like trends.synthetic's (2 to 4 consonant-vowel syllables and
    an optional final consonant), drawn all at once: its one-word-at-a-time version is too slow here."""
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    lengths = rng.integers(2, 5, count).tolist()
    picks = rng.integers(0, len(syllables), (count, 4)).tolist()
    finals = rng.integers(0, len(_FINALS), count).tolist()
    return ["".join([syllables[j] for j in row[:n]]) + _FINALS[f] for row, n, f in zip(picks, lengths, finals)]


def _acronym(phrase: str) -> str:
    return "".join(word[0] for word in phrase.split()).upper()


@lru_cache(maxsize=1)
def language() -> _Language:
    """The token table: trends.synthetic's world, extended; the same for every seed."""
    base = world()
    rng = np.random.default_rng(LANGUAGE_SEED)
    known = set(base.words)
    tail: dict[str, None] = {}
    while len(tail) < TAIL_WORDS:
        for word in _invented_words(rng, TAIL_WORDS):
            if len(tail) < TAIL_WORDS and word not in known and word not in tail and _is_clean_word(word):
                tail.setdefault(word)
    words = list(base.words) + list(tail)
    hyphen: dict[str, None] = {}
    while len(hyphen) < HYPHENATED:
        first = (_HYPHEN_PREFIXES[rng.integers(len(_HYPHEN_PREFIXES))] if rng.random() < 0.5
                 else words[int(rng.integers(300))])
        hyphen.setdefault(f"{first}-{words[int(rng.integers(1500))]}")
    hyphen_words = list(hyphen)
    phrases = list(base.phrases)
    acronyms = [_acronym(p) for p in phrases]

    parts: list[list[str]] = []
    starts: dict[str, int] = {}

    def add(kind: str, texts: list[str]) -> None:
        starts[kind] = sum(len(p) for p in parts)
        parts.append(texts)

    add("word", [" " + w for w in words])
    add("word_title", [" " + _title_case(w) for w in words])
    add("plural", [" " + w + ("es" if w.endswith("x") else "s") for w in words])
    add("phrase", [" " + p for p in phrases])
    add("phrase_title", [" " + _title_case(p) for p in phrases])
    add("phrase_acr", [f" {p} ({a})" for p, a in zip(phrases, acronyms)])
    add("acronym", [" " + a for a in acronyms])
    add("hyphen", [" " + h for h in hyphen_words])
    add("hyphen_title", [" " + _title_case(h) for h in hyphen_words])
    add("opener", [" " + o for o in _OPENERS])
    add("connector", [c if c.startswith(",") else " " + c for c in _CONNECTORS])
    add("title_connector", [c.rstrip() for c in _TITLE_CONNECTORS if c.strip() != ":"])
    add("colon", [":"])
    add("period", ["."])
    base_tokens = [t for p in parts for t in p]
    for token in base_tokens:
        if json.dumps(token, ensure_ascii=False)[1:-1] != token:
            raise AssertionError(f"token {token!r} needs a JSON escape")
    newline = ["\\n" + t[1:] if t.startswith(" ") else t for t in base_tokens]
    nospace = [t[1:] if t.startswith(" ") else t for t in base_tokens]
    table = np.empty(3 * len(base_tokens), dtype=object)
    table[:] = base_tokens + newline + nospace

    author_rng = np.random.default_rng(LANGUAGE_SEED + 1)
    authors: dict[str, None] = {}
    while len(authors) < AUTHOR_POOL:
        firsts = _invented_words(author_rng, AUTHOR_POOL)
        lasts = _invented_words(author_rng, AUTHOR_POOL)
        accented = author_rng.integers(0, 50 * len(_FIRST_NAMES_EXTRA), AUTHOR_POOL).tolist()
        for first, last, extra in zip(firsts, lasts, accented):
            first = _FIRST_NAMES_EXTRA[extra] if extra < len(_FIRST_NAMES_EXTRA) else first[:7].capitalize()
            if len(authors) < AUTHOR_POOL:
                authors.setdefault(json.dumps(f"{first} {last.capitalize()}", ensure_ascii=False))
    return _Language(
        tokens=table, lengths=np.array([len(t) for t in base_tokens], dtype=np.int64), size=len(base_tokens),
        spaced=np.array([t.startswith(" ") for t in base_tokens]),
        **{kind: start for kind, start in starts.items()},
        word_lookup=_lookup(zipf_probabilities(len(words))), phrase_lookup=_lookup(zipf_probabilities(len(phrases))),
        hyphen_lookup=_lookup(zipf_probabilities(len(hyphen_words))), n_words=len(words),
        n_phrases=len(phrases), n_hyphen=len(hyphen_words), authors=tuple(authors),
        author_lookup=_lookup(zipf_probabilities(AUTHOR_POOL, 0.8)),
        category_lookup=_lookup(zipf_probabilities(len(CATEGORIES), 1.3)),
        chunk_kind_lookup=_lookup(CHUNK_KIND_P), run_length_lookup=_lookup(RUN_LENGTH_P),
        category_count_lookup=_lookup(CATEGORY_COUNT_P),
    )


LOOKUP_BITS = 20


def _lookup(probabilities) -> np.ndarray:
    """An inverse-CDF table of 2**LOOKUP_BITS slots for drawing indices with these probabilities
    (each rounded to a multiple of 2**-LOOKUP_BITS, about 1e-6)."""
    cdf = np.cumsum(np.asarray(probabilities, dtype=float))
    cdf /= cdf[-1]
    slots = (np.arange(1 << LOOKUP_BITS) + 0.5) / (1 << LOOKUP_BITS)
    return np.minimum(np.searchsorted(cdf, slots, side="right"), len(cdf) - 1).astype(np.int32)  # small: cache


def _draw(rng: np.random.Generator, lookup: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with a ``_lookup`` table's probabilities."""
    return lookup[rng.integers(0, 1 << LOOKUP_BITS, size)]


def _texts(rng: np.random.Generator, lang: _Language, units_per_paper: np.ndarray, title: bool) -> list[str]:
    """One text per paper: ``units_per_paper`` sentences (abstract) or 1 unit (title, then units are chunks).

    A sentence is an opener, chunks joined by connectors, and a period; a title is one or two
    title-cased chunks joined by a title connector (or ``ACRONYM:`` before them).
    """
    papers = len(units_per_paper)
    if title:
        chunks_per_unit = units_per_paper.astype(np.int64)
        units_per_paper = np.ones(papers, dtype=np.int64)
    else:
        chunks_per_unit = rng.integers(CHUNKS[0], CHUNKS[1] + 1, int(units_per_paper.sum()))
    units = len(chunks_per_unit)
    chunks = int(chunks_per_unit.sum())
    first_chunk = np.zeros(chunks, dtype=bool)
    unit_start = np.cumsum(chunks_per_unit) - chunks_per_unit
    first_chunk[unit_start] = True
    last_chunk = np.zeros(chunks, dtype=bool)
    last_chunk[unit_start + chunks_per_unit - 1] = True

    kind = _draw(rng, lang.chunk_kind_lookup, chunks)
    if title:
        kind[kind == 2] = 1  # no "(ACR)" in titles
    run = np.where(kind == 0, _draw(rng, lang.run_length_lookup, chunks) + 1, 1)
    # tokens of a chunk: its prefix (opener / connector / none in a title's first chunk), content, period
    has_prefix = ~first_chunk if title else np.ones(chunks, dtype=bool)
    has_suffix = last_chunk & (not title)
    per_chunk = has_prefix + run + has_suffix
    total = int(per_chunk.sum())
    chunk_of = np.repeat(np.arange(chunks), per_chunk)
    chunk_begin = np.cumsum(per_chunk) - per_chunk
    at = np.arange(total) - chunk_begin[chunk_of]
    content_at = at - has_prefix[chunk_of]

    word = _draw(rng, lang.word_lookup, total)
    if title:
        word_token = lang.word_title + word
    else:
        word_token = np.where(rng.random(total) < PLURAL_SHARE, lang.plural, lang.word) + word
    phrase = _draw(rng, lang.phrase_lookup, chunks)
    hyphen = _draw(rng, lang.hyphen_lookup, chunks)
    special = np.select(
        [kind == 1, kind == 2, kind == 3, kind == 4],
        [(lang.phrase_title if title else lang.phrase) + phrase, lang.phrase_acr + phrase,
         lang.acronym + phrase, (lang.hyphen_title if title else lang.hyphen) + hyphen],
        default=0)
    content = np.where(kind[chunk_of] == 0, word_token, special[chunk_of])
    if title:
        prefix = lang.title_connector + rng.integers(0, lang.colon - lang.title_connector, chunks)
    else:
        prefix = np.where(first_chunk, lang.opener + rng.integers(0, len(_OPENERS), chunks),
                          lang.connector + rng.integers(0, len(_CONNECTORS), chunks))
    tokens = np.where(at == 0, np.where(has_prefix[chunk_of], prefix[chunk_of], content),
                      np.where(content_at < run[chunk_of], content, lang.period))

    # papers: where each paper's tokens start
    unit_tokens = np.add.reduceat(per_chunk, unit_start) if units else np.zeros(0, dtype=np.int64)
    paper_unit_start = np.cumsum(units_per_paper) - units_per_paper
    paper_tokens = np.add.reduceat(unit_tokens, paper_unit_start) if papers else np.zeros(0, dtype=np.int64)
    paper_begin = np.cumsum(paper_tokens) - paper_tokens
    if title:
        # "ACR: Rest Of Title" for some titles whose first chunk is a phrase
        colon = (rng.random(papers) < 0.15) & (kind[unit_start] == 1)
        first = paper_begin[colon]
        tokens[first] = lang.acronym + phrase[unit_start[colon]]
        inserted = np.column_stack([np.full(len(first), lang.colon), lang.phrase_title + phrase[unit_start[colon]]])
        tokens = np.insert(tokens, np.repeat(first + 1, 2), inserted.ravel())
        paper_tokens = paper_tokens + 2 * colon
        paper_begin = np.cumsum(paper_tokens) - paper_tokens
    else:
        # arXiv's hard line breaks: a token that ends past a multiple of WRAP_COLUMN starts a new line
        length = lang.lengths[tokens]
        paper_of = np.repeat(np.arange(papers), paper_tokens)
        end = np.cumsum(length)
        end -= (end[paper_begin] - length[paper_begin])[paper_of]
        # only a token with a leading space can start a line: compare each with the previous such token
        breakable = np.flatnonzero(lang.spaced[tokens])
        line = (end[breakable] - 1) // WRAP_COLUMN
        wrap = np.zeros(len(tokens), dtype=bool)
        wrap[breakable[1:]] = line[1:] > line[:-1]
        wrap[paper_begin] = False
        tokens = tokens + lang.size * wrap
    tokens[paper_begin] += 2 * lang.size  # no leading space
    strings = lang.tokens[tokens].tolist()
    bounds = np.append(paper_begin, len(tokens)).tolist()
    return ["".join(strings[bounds[i]:bounds[i + 1]]) for i in range(papers)]


def day_count(rng: np.random.Generator, day: dt.date, papers_per_weekday: int) -> int:
    """How many new papers are listed on ``day``."""
    weekday = day.weekday()
    if weekday == 6:
        return 0
    mean = papers_per_weekday * (SATURDAY_SHARE if weekday == 5 else WEEKDAY_FACTORS[weekday])
    return int(rng.poisson(mean))


def day_lines(day: dt.date, papers_per_weekday: int = 1000, seed: int = DEFAULT_SEED) -> list[str]:
    """The JSON lines (each ending in a newline) of the new papers listed on ``day``."""
    rng = np.random.default_rng([seed, day.toordinal()])
    count = day_count(rng, day, papers_per_weekday)
    if count > IDS_PER_DAY:
        raise ValueError(f"{day}: {count} papers is more than the {IDS_PER_DAY} ids a day has")
    if count == 0:
        return []
    lang = language()
    titles = _texts(rng, lang, rng.integers(TITLE_CHUNKS[0], TITLE_CHUNKS[1] + 1, count), title=True)
    abstracts = _texts(rng, lang, rng.integers(SENTENCES[0], SENTENCES[1] + 1, count), title=False)
    author_counts = np.minimum(rng.geometric(0.3, count), 8)
    author_ids = _draw(rng, lang.author_lookup, int(author_counts.sum())).tolist()
    author_bounds = np.append(0, np.cumsum(author_counts)).tolist()
    category_counts = _draw(rng, lang.category_count_lookup, count) + 1
    categories = _draw(rng, lang.category_lookup, int(category_counts.sum())).tolist()
    category_bounds = np.append(0, np.cumsum(category_counts)).tolist()
    comments = rng.integers(-3 * len(COMMENTS), len(COMMENTS), count).tolist()
    prefix = f"{day:%y%m}."
    first_number = (day.day - 1) * IDS_PER_DAY + 1
    authors = lang.authors
    lines = []
    for i in range(count):
        arxiv_id = f"{prefix}{first_number + i:05d}"
        names = ", ".join([authors[a] for a in author_ids[author_bounds[i]:author_bounds[i + 1]]])
        cats = ", ".join(dict.fromkeys(
            f'"{CATEGORIES[c]}"' for c in categories[category_bounds[i]:category_bounds[i + 1]]))
        comment = f'"{COMMENTS[comments[i]]}"' if comments[i] >= 0 else "null"
        lines.append(
            f'{{"id": "{arxiv_id}", "pdf": "https://arxiv.org/pdf/{arxiv_id}", '
            f'"abs": "https://arxiv.org/abs/{arxiv_id}", "authors": [{names}], "title": "{titles[i]}", '
            f'"categories": [{cats}], "comment": {comment}, "summary": "{abstracts[i]}"}}\n')
    return lines


def _relist_day(day: dt.date, delay: int) -> dt.date:
    later = day + dt.timedelta(days=delay)
    return later + dt.timedelta(days=1) if later.weekday() == 6 else later


def write_arxiv_inbox(inbox: Path, start: dt.date, end: dt.date, papers_per_weekday: int = 1000,
                      seed: int = DEFAULT_SEED) -> FeedStats:
    """Write ``inbox/DAY/arxiv-listing.jsonl`` for every listing day in ``start``..``end`` (see the module doc)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if papers_per_weekday < 0:
        raise ValueError("papers_per_weekday must not be negative")
    began = time.perf_counter()
    stats = FeedStats(start, end)
    inbox = Path(inbox)
    pending: dict[dt.date, list[str]] = {}
    day = start
    while day <= end:
        lines = day_lines(day, papers_per_weekday, seed)
        relisted = pending.pop(day, [])
        if lines:
            relist_rng = np.random.default_rng([seed, day.toordinal(), 1])
            chosen = np.flatnonzero(relist_rng.random(len(lines)) < RELIST_SHARE)
            delays = relist_rng.integers(1, RELIST_MAX_DELAY + 1, len(chosen))
            for index, delay in zip(chosen.tolist(), delays.tolist()):
                later = _relist_day(day, delay)
                if later <= end:
                    line = lines[index]
                    arxiv_id = line[8:18]
                    pending.setdefault(later, []).append(
                        line.replace(f'{arxiv_id}"', f'{arxiv_id}v2"'))
        if lines or relisted:
            folder = inbox / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            data = "".join(lines + relisted).encode()
            (folder / FILE_NAME).write_bytes(data)
            stats.files += 1
            stats.bytes += len(data)
            stats.new_papers += len(lines)
            stats.relisted += len(relisted)
            stats.lines_per_day[day] = len(lines) + len(relisted)
        day += dt.timedelta(days=1)
    stats.seconds = time.perf_counter() - began
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2016, 1, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2025, 12, 31))
    parser.add_argument("--papers-per-weekday", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    stats = write_arxiv_inbox(args.inbox, args.start, args.end, args.papers_per_weekday, args.seed)
    print(f"{stats.files} files, {stats.new_papers:,} new papers + {stats.relisted:,} re-listed = "
          f"{stats.lines:,} lines, {stats.bytes / 2**20:,.0f} MiB in {stats.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
