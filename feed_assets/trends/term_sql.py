"""Term extraction and daily term counts in DuckDB SQL: the vectorized form of ``terms.py``.

``paper_terms_sql(papers_sql)`` is a query text giving, for every paper of ``papers_sql``, the
same ``(kind, term)`` pairs as ``terms.paper_terms`` (the specification; read its docstring),
and ``count_terms`` counts them per day. Everything runs inside DuckDB (list lambdas over the
tokens of each text, no Python per paper), and the vocabulary (stopwords, boilerplate, plural
tables) is read from ``terms.py`` so there is one definition of it.

Why the SQL looks the way it does (DuckDB's regexes are RE2: no look-behind, no look-ahead,
``\\w``/``\\s``/``\\b`` are ASCII-only, while Python's ``re`` is Unicode-aware):

- Python's character classes (``\\w``, ``\\d``, ``\\s``, ``[^\\W_]``, ``str.isupper``,
  ``str.isalpha``) are enumerated from Python itself over every code point and written out
  as explicit RE2 ranges, so both sides agree on every character.
- The cut-out regex's ``\\b`` before a domain needs no emulation: a domain match can only
  start at the first word character of a run of ``[\\w.-]``, which RE2 reaches first anyway.
  The ``\\b`` after the top-level domain becomes "followed by ``/...``, a closed ``$...$``,
  any non-word character (consumed and written back) or the end".
- The token regex's digit-dot-digit joiner ``(?<=\\d)\\.(?=\\d)`` becomes the grammar
  ``U(?:U|[-']U)*`` with ``U = non-digit alnum | \\d(?:\\.\\d)*``, which matches the same
  (longest) tokens.
- Python's ``str.lower`` differs from DuckDB's ``lower`` on ``İ`` (Python gives ``i̇``) and on
  the context-dependent final sigma (``aΣ`` -> ``aς``); both are corrected before lowering.
- Tokens are normalized once per distinct token, not once per occurrence: a token's term
  form (or NULL, for a break or a dropped token) depends on the token alone, and a month of
  papers holds some 3 million tokens but only some 50,000 distinct ones. The distinct tokens
  go through the normalization stages (list lambdas over a few long lists per statement: a
  lambda compiles its regexes once per vector of lists), and every token finds its term with
  one hash join. Keywords likewise: their distinct words are normalized, then each distinct
  keyword is put together from its words.
- The papers are numbered and held (``texts``) before their texts are tokenized: a table scan
  runs on one thread per row group (122,880 rows), and a chunk of days usually lies within one,
  so tokenizing straight off the scan ran on one thread; off the held rows it runs on every
  thread. Measured on a month of arXiv-like papers (20,300): 3.5 s a statement before, 2.9 s.
- Runs and n-grams: a paper's tokens are one list (title, then a break, then abstract, then a
  break), and an n-gram starting at a token is its term and the terms of the next n - 1
  tokens of the list. The list and its tails (``tokens[2:]``, ``tokens[3:]``) are unnested
  side by side, so each token's row holds the raw text of the tokens after it (NULL past the
  end) with no sort, and each part finds its term by a join, only when the part before it is
  a term: NULL as soon as one part is NULL, so runs never cross a break, nor a paper's end.
  Measured on a month of a synthetic year (20,196 papers): 1.01-1.03 s a statement against
  1.15-1.21 s with ``lead`` over a window by paper (a sort of every token), the same rows.
- Texts with none of what the cut-out regex removes (``://``, ``www.``, ``$``, a dot before a
  top-level domain: most abstracts) skip its replacement, after a simpler regex test.
- Terms travel as numbers until they are counted: each distinct term of the statement gets
  an id (below 2**21), an n-gram is its parts' ids packed into one 64-bit integer (21 bits
  each, first part highest), and the joins, the per-paper distinct and the count work on
  integers; only the counted rows are spelled out again, parts joined by spaces. Measured on
  a month of synthetic arXiv (23,261 papers): 15 % less CPU than carrying the strings. A
  part is spelled by its place in one list of the statement's terms in id order
  (``spelling``), not by a join per part: a month's statement 1.95 s against 2.05-2.2 s.

Chunking: ``count_terms`` holds one chunk's (day, kind, term) groups in a hash table (about
75 rows per paper after grouping), and DuckDB only runs a scan on several threads when it
spans several row groups (122,880 rows), so very small chunks are slow and very large ones
use more memory. Measured (``feed_assets_tests/measure_term_sql.py``, 100,000 papers made of
real abstract sentences at 700 a day, 2 threads on a shared 2-core machine,
``memory_limit='1GB'``): chunks of 7 days 5,000 papers/s, peak RSS 720 MiB; 31 days 7,100
papers/s, 990 MiB; 92 days 5,400 papers/s, 1.2 GiB (before tokens were normalized per
distinct token: 31 days 3,500 papers/s). Python ``paper_terms`` alone (no counting): 1,300
papers/s. So pass about a month of arXiv per call, some 20,000 papers (the warehouse's
``TERM_CHUNK_PAPERS``), with the connection's memory_limit set (768 MB since 2026-12-05): on a
synthetic year, chunks of 20,000 papers recounted it in 18.6-18.7 s, of 10,000 in 21.6 s and of
40,000 in 20.7 s (2026-12-06, the statement without a sort); ten years (2.6 million papers)
took 215 s in P3. Each call appends only the rows of its own days, so calls can run one after
another inside one transaction. Building the query text (about 1 MB, most of it character
classes) costs about 10 ms once per process with the shipped ``unicode_classes.json`` (about
1 s where the classes must be computed), and parsing and binding it about 0.17 s per call
(2026-12-06).
"""

from __future__ import annotations

import json
import re
import string
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import duckdb

from feed_assets.trends import terms as spec
from feed_assets.warehouse.schema import sql_string


@lru_cache(maxsize=1)
def _all_chars() -> str:
    """Every code point but the surrogates (built when first needed: 0.14 s, and only computing
    the classes needs it, not building the query from the shipped ones)."""
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


# ---------------------------------------------------------------------------------------------
# Python's character classes as RE2 classes
# ---------------------------------------------------------------------------------------------

def _ranges(chars: str) -> str:
    """The body of an RE2 character class holding exactly ``chars`` (``\\x{..}`` ranges)."""
    points = sorted({ord(c) for c in chars})
    parts = []
    start = prev = None
    for point in points + [None]:
        if prev is not None and point == prev + 1:
            prev = point
            continue
        if start is not None:
            parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = point
    return "".join(parts)


def _python_class(pattern: str) -> str:
    """The characters a one-character Python regex (``\\w``, ``[^\\W_]``...) matches."""
    return "".join(re.findall(pattern, _all_chars()))


@lru_cache(maxsize=1)
def _classes() -> dict[str, str]:
    """RE2 class bodies of the Python character sets the extraction depends on: read from
    ``unicode_classes.json`` when it was written for this Python's Unicode database (computing
    them walks every code point, about 2 s), else computed."""
    shipped = _shipped_classes()
    return shipped["classes"] if shipped else compute_classes()


def compute_classes() -> dict[str, str]:
    """The classes of ``_classes``, computed from this Python's own ``re`` and ``str``."""
    word = _python_class(r"\w")
    space = _python_class(r"\s")
    upper = "".join(c for c in _all_chars() if c.isupper())
    alpha = "".join(c for c in _all_chars() if c.isalpha())
    # final sigma (str.lower): "cased and not case-ignorable", "case-ignorable", "neither",
    # read off Python's own lower() by probes (see _sigma_sets)
    cased, ignorable, neither = _sigma_sets()
    return {
        "word": _ranges(word),
        "alnum": _ranges(_python_class(r"[^\W_]")),
        "digit": _ranges(_python_class(r"\d")),
        "alnum_not_digit": _ranges(_python_class(r"[^\W_\d]")),
        "space": _ranges(space),
        "space_chars": space,
        "upper": _ranges(upper),
        "alpha": _ranges(alpha),
        "cased": _ranges(cased),
        "ignorable": _ranges(ignorable),
        "neither": _ranges(neither),
    }


def _sigma_sets() -> tuple[str, str, str]:
    """Characters by their role in Python's final-sigma rule, found by probing ``str.lower``.

    Σ lowercases to ς when, skipping case-ignorable characters, a cased character precedes it
    and none follows. Probes: ``c+Σ`` gives ς iff c is cased and not ignorable, ``a+c+Σ``
    iff c is ignorable or cased, ``aΣ+c`` iff c is ignorable or not cased.
    """
    cased, ignorable, neither = [], [], []
    for c in _all_chars():
        if c == "\u03a3":
            cased.append(c)
            continue
        after_cased = ("a" + c + "\u03a3").lower().endswith("\u03c2")  # ignorable or cased
        alone = (c + "\u03a3").lower().endswith("\u03c2")  # cased, not ignorable
        followed = ("a\u03a3" + c).lower()[1] == "\u03c2"  # ignorable, or not cased
        if alone:
            cased.append(c)
        elif after_cased and followed:
            ignorable.append(c)
        elif followed:
            neither.append(c)
    return "".join(cased), "".join(ignorable), "".join(neither)


def _ignore_case(literal: str) -> str:
    """An RE2 pattern for ``literal`` as Python's ``re.IGNORECASE`` matches it (Unicode folds)."""
    out = []
    for char in literal:
        if char.isalpha():
            out.append(f"[{_ranges(_case_variants(char))}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _case_variants(char: str) -> str:
    """Every character ``re.IGNORECASE`` matches to ``char`` (shipped for ASCII letters)."""
    shipped = _shipped_classes()
    if shipped and char in shipped["case_variants"]:
        return shipped["case_variants"][char]
    return _computed_case_variants(char)


def _computed_case_variants(char: str) -> str:
    return "".join(re.findall(re.escape(char), _all_chars(), re.IGNORECASE))


# The classes and ASCII case variants, computed once and shipped with the package, keyed by the
# Unicode database they were read from; ``write_unicode_classes()`` (re)writes the file, and a
# test checks that it equals what this Python computes.
UNICODE_CLASSES_FILE = Path(__file__).with_name("unicode_classes.json")


def unicode_key() -> str:
    return f"unicode {unicodedata.unidata_version}, maxunicode {sys.maxunicode}"


def computed_unicode_classes() -> dict:
    return {"unicode": unicode_key(), "classes": compute_classes(),
            "case_variants": {char: _computed_case_variants(char) for char in string.ascii_letters}}


@lru_cache(maxsize=1)
def _shipped_classes() -> dict | None:
    try:
        shipped = json.loads(UNICODE_CLASSES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return shipped if shipped.get("unicode") == unicode_key() else None


def write_unicode_classes() -> None:
    """Write ``unicode_classes.json`` for this Python (run after a Python upgrade changes Unicode)."""
    UNICODE_CLASSES_FILE.write_text(json.dumps(computed_unicode_classes(), ensure_ascii=True, indent=0,
                                               sort_keys=True) + "\n", encoding="utf-8")


def _words_regex(words) -> str:
    """An RE2 alternation matching exactly the given words (to use with regexp_full_match)."""
    return "(?:" + "|".join(re.escape(word) for word in sorted(words)) + ")"


def _sql_list(words) -> str:
    """A SQL list literal of strings."""
    return "[" + ", ".join(sql_string(word) for word in sorted(words)) + "]"


# ---------------------------------------------------------------------------------------------
# Regexes
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _patterns() -> dict[str, str]:
    """The RE2 patterns: cut-out (with its replacement), token-or-break, and helpers."""
    k = _classes()
    nonspace = f"[^{k['space']}]"
    word = f"[{k['word']}]"
    not_word = f"[^{k['word']}]"  # after a top-level domain: the \b of the Python pattern
    url = "(?:" + _ignore_case("http") + _ignore_case("s") + "?://|" + _ignore_case("www") + r"\.)" + nonspace + "+"
    tlds = "(?:" + "|".join(_ignore_case(tld) for tld in ("com", "org", "net", "io", "ai", "edu")) + ")"
    tex = r"\$[^$]*\$"
    domain = (f"{word}[{k['word']}.\\-]*\\.{tlds}"
              f"(?:/{nonspace}*|{tex}|({not_word})|\\z)")
    cut_out = f"{url}|{domain}|{tex}"
    # the Python pattern must still be the one this translates
    assert spec._CUT_OUT.pattern == (
        r"(?:https?://|www\.)\S+"
        r"|\b[\w.-]+\.(?:com|org|net|io|ai|edu)\b(?:/\S*)?"
        r"|\$[^$]*\$"), "terms._CUT_OUT changed: update term_sql"
    unit = f"(?:[{k['alnum_not_digit']}]|[{k['digit']}](?:\\.[{k['digit']}])*)"
    token = f"{unit}(?:{unit}|[\\-']{unit})*"
    breaks = "[" + "".join(re.escape(c) for c in spec._PHRASE_END) + "]"
    assert spec._TOKEN_OR_BREAK.pattern == (
        r"(?P<token>[^\W_]+(?:(?:-|'|(?<=\d)\.(?=\d))[^\W_]+)*)"
        r"|(?P<break>[" + re.escape(spec._PHRASE_END) + r"])"), "terms._TOKEN_OR_BREAK changed: update term_sql"
    cased, ign, neither = f"[{k['cased']}]", f"[{k['ignorable']}]", f"[{k['neither']}]"
    return {
        "cut_out": cut_out,
        # what every match of cut_out holds ("://", "www.", "$" or a dot before a top-level
        # domain): most texts hold none, and this simpler test spares them the replacement
        "may_cut": "://|" + _ignore_case("www") + r"\.|\$|\." + tlds,
        "token_or_break": f"{token}|{breaks}",
        "break": breaks,
        "nonspace_run": f"{nonspace}+",
        "two_upper": f"[{k['upper']}][^{k['upper']}]*[{k['upper']}]",
        "upper_then_s": f"[{k['upper']}]s\\z",
        "alpha": f"[{k['alpha']}]",
        "all_alpha": f"[{k['alpha']}]+",
        "possessive": "'" + _ignore_case("s") + "\\z",
        "final_sigma": f"({cased}{ign}*)\u03a3({ign}*)({neither}|\\z)",
        "dropped_words": _words_regex(spec.STOPWORDS | spec.BOILERPLATE),
    }


# ---------------------------------------------------------------------------------------------
# SQL expressions (Python functions of terms.py, one by one)
# ---------------------------------------------------------------------------------------------

def _lower(x: str, *, sigma: bool = True) -> str:
    """Python's ``str.lower`` of the SQL string ``x`` (İ and, with ``sigma``, final sigma fixed)."""
    p = _patterns()
    fixed = x
    if sigma:
        fixed = (f"(case when contains({x}, '\u03a3') then regexp_replace({x}, "
                 f"{sql_string(p['final_sigma'])}, '\\1\u03c2\\2\\3', 'g') else {x} end)")
    return f"lower(replace({fixed}, '\u0130', 'i\u0307'))"


def _keeps_case(x: str) -> str:
    """``terms.keeps_case``: two or more uppercase characters."""
    return f"regexp_matches({x}, {sql_string(_patterns()['two_upper'])})"


def _slice_off(x: str, n: int) -> str:
    """``x[:-n]``."""
    return f"left({x}, length({x}) - {n})"


def _fold_plural(w: str) -> str:
    """``terms.fold_plural`` of a lowercase SQL string ``w``."""
    irregular = " ".join(f"when {sql_string(k)} then {sql_string(v)}"
                         for k, v in sorted(spec._IRREGULAR_PLURALS.items()))

    def ends(*suffixes: str) -> str:
        return "(" + " or ".join(f"suffix({w}, {sql_string(s)})" for s in suffixes) + ")"

    # shortcut first (most words): no final s and not a table word, so every rule leaves it alone
    table_words = sorted(word for word in set(spec._IRREGULAR_PLURALS) | spec._PLURALS_OF_IS_US if not word.endswith("s"))
    return f"""(case
        when not suffix({w}, 's') and {w} not in ({", ".join(map(sql_string, table_words))}) then {w}
        when {w} in ({", ".join(map(sql_string, sorted(spec._IRREGULAR_PLURALS)))}) then (case {w} {irregular} end)
        when list_contains({_sql_list(spec._PLURALS_OF_IS_US)}, {w}) then {_slice_off(w, 1)}
        when length({w}) <= 3 or not suffix({w}, 's') or {ends("ss", "us", "is")} then {w}
        when list_contains({_sql_list(spec._UNCHANGED_IES)}, {w}) then {w}
        when suffix({w}, 'ies') and not list_contains({_sql_list(spec._IE_NOUNS)}, {w}) then {_slice_off(w, 3)} || 'y'
        when {ends("sses", "xes", "shes")}
             or (suffix({w}, 'ches') and not list_contains({_sql_list(spec._CHE_NOUNS)}, {w})) then {_slice_off(w, 2)}
        when suffix({w}, 'es') and list_contains({_sql_list(spec._SINGULAR_AS_US)}, {_slice_off(w, 2)}) then {_slice_off(w, 2)}
        when suffix({w}, 'ics') and not list_contains({_sql_list(spec._PLURALS_OF_ICS)}, {w}) then {w}
        when list_contains({_sql_list(spec._SINGULAR_AS_US)}, {w}) then {w}
        else {_slice_off(w, 1)}
    end)"""


def _fold_cased(t: str) -> str:
    """``terms._fold_cased`` of a case-kept SQL string ``t``."""
    p = _patterns()
    lowered = _lower(t)
    folded = _fold_plural("lw")
    return f"""(case
        when length({t}) > 2 and regexp_matches({t}, {sql_string(p['upper_then_s'])}) then {_slice_off(t, 1)}
        else list_transform([{lowered}], lambda lw: list_transform([{folded}], lambda f:
                 case when starts_with(lw, f) then left({t}, length(f)) else {t} end)[1])[1]
    end)"""


def _fold_part(x: str) -> str:
    """``terms._fold_part`` of a case-ruled SQL string ``x``."""
    p = _patterns()
    return f"""(case
        when not regexp_full_match({x}, {sql_string(p['all_alpha'])}) then {x}
        when {_keeps_case(x)} then {_fold_cased(x)}
        else {_fold_plural(x)}
    end)"""


def _case_part(x: str) -> str:
    """``terms._case_part``: kept if two or more capitals, else Python-lowercased."""
    return f"(case when {_keeps_case(x)} then {x} else {_lower(x)} end)"


def _possessive_cut(token: str) -> str:
    """``token`` without a final ``'s`` (any letter Python's IGNORECASE takes for s)."""
    ends = " or ".join(f"suffix({token}, {sql_string(chr(39) + s)})" for s in _case_variants("s"))
    return f"(case when {ends} then {_slice_off(token, 2)} else {token} end)"


def _last_part(x: str) -> str:
    """The text after the last hyphen of ``x`` (all of it without one)."""
    return f"string_split({x}, '-')[-1]"


UNROLLED_PARTS = 6


def _ruled_head(x: str) -> str:
    """The hyphen parts of ``x`` but the last, each case-ruled, each followed by a hyphen.

    Unrolled up to UNROLLED_PARTS parts: a nested lambda would recompile its regexes for
    every vector, so it is kept for the rare longer tokens.
    """
    parts = f"string_split({x}, '-')"
    unrolled = ", ".join(f"case when {i} < len({parts}) then {_case_part(f'{parts}[{i}]')} || '-' end"
                         for i in range(1, UNROLLED_PARTS))
    nested = (f"array_to_string(list_transform(list_slice({parts}, 1, len({parts}) - 1), "
              f"lambda part: {_case_part('part')}), '-') || '-'")
    return f"(case when len({parts}) <= {UNROLLED_PARTS} then concat({unrolled}) else {nested} end)"


def _normalize_stages(tokens: str, *, breaks: bool) -> list[str]:
    """``normalize_token`` over a SQL list of tokens, as successive list_transform stages.

    Each stage is a one-level lambda (nested lambdas recompile their regexes per vector, and
    an expression repeated in a lambda is evaluated again each time), applied to the
    previous stage's list (``{prev}``). With ``breaks``, phrase-ending marks become NULL.
    The last stage gives ``{raw, term}`` structs (NULL for a break).
    """
    is_break = f"length(r) = 1 and contains({sql_string(spec._PHRASE_END)}, r)" if breaks else "false"
    # fast path: an ASCII word, lowercase but maybe its first letter (most tokens); its
    # normalized form is fold_plural(lower(r)), kept in 'np' from the first stage on
    first = (f"list_transform({tokens}, lambda r: case when {is_break} then null "
             f"when regexp_full_match(r, '[A-Za-z][a-z]*') then {{'raw': r, 'fast': true, 'np': lower(r)}} "
             f"else {{'raw': r, 'fast': false, 'np': {_possessive_cut('r')}}} end)")
    head_raw = f"left(s.np, length(s.np) - length({_last_part('s.np')}))"
    second = f"""list_transform({{prev}}, lambda s: case
        when s is null then null
        when s.fast then {{'raw': s.raw, 'fast': true, 'head': '', 'last': s.np}}
        when not contains(s.np, '-') then {{'raw': s.raw, 'fast': false, 'head': '', 'last': {_case_part('s.np')}}}
        when not {_keeps_case('s.np')} then {{'raw': s.raw, 'fast': false, 'head': {_lower(head_raw)}, 'last': {_lower(_last_part('s.np'))}}}
        else {{'raw': s.raw, 'fast': false, 'head': {_ruled_head('s.np')}, 'last': {_case_part(_last_part('s.np'))}}}
    end)"""
    third = (f"list_transform({{prev}}, lambda s: case when s is null then null "
             f"when s.fast then {{'raw': s.raw, 'fast': true, 'term': {_fold_plural('s.last')}}} "
             f"else {{'raw': s.raw, 'fast': false, 'term': s.head || {_fold_part('s.last')}}} end)")
    return [first, second, third]


def _is_dropped(raw: str, normalized: str) -> str:
    """``terms.is_dropped``: single character, no letter, stopword or boilerplate."""
    p = _patterns()
    dropped = sql_string(p["dropped_words"])
    return (f"(length({normalized}) <= 1 or not regexp_matches({normalized}, {sql_string(p['alpha'])}) "
            f"or regexp_full_match({_lower(raw, sigma=False)}, {dropped}) "
            f"or regexp_full_match({_lower(normalized, sigma=False)}, {dropped}))")


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

def _staged(source: str, keys: str, columns: dict[str, str], *, breaks: bool, name: str) -> tuple[str, str]:
    """CTEs running ``_normalize_stages`` on the token-list ``columns`` of ``source``.

    Returns the CTE text and the name of the last CTE (columns ``keys`` and ``columns``,
    each a list of ``{raw, term}``).
    """
    ctes = []
    previous = source
    stages = {column: _normalize_stages(tokens, breaks=breaks) for column, tokens in columns.items()}
    for index in range(3):
        current = f"{name}_{index + 1}"
        selects = ", ".join(f"{stages[column][index].replace('{prev}', column)} as {column}" for column in columns)
        ctes.append(f"{current} as (select {keys}, {selects} from {previous})")
        previous = current
    return ",\n    ".join(ctes), previous


# an n-gram is its parts' term ids packed into one integer, this many bits a part
_GRAM_PART_BITS = 21
_GRAM_PART_LIMIT = 2**_GRAM_PART_BITS
assert _GRAM_PART_BITS * spec.MAX_NGRAM <= 64
# a statement's distinct tokens are normalized in this many lists (a lambda call per list)
_VOCABULARY_LISTS = 64


def _paper_terms_cte(papers_sql: str) -> str:
    """CTEs ending in ``paper_terms (n, feed_date, kind, term)``, distinct per paper, where ``n``
    numbers the papers of ``numbered (n, paper_id, feed_date, ...)``."""
    p = _patterns()
    k = _classes()
    apostrophe = "'\u2019'"

    def tokens(field: str) -> str:
        text = f"replace(coalesce({field}, ''), {apostrophe}, '''')"
        cut = (f"(case when regexp_matches({text}, {sql_string(p['may_cut'])}) "
               f"then regexp_replace({text}, {sql_string(p['cut_out'])}, ' . \\1', 'g') else {text} end)")
        return f"regexp_extract_all({cut}, {sql_string(p['token_or_break'])})"

    words = (f"regexp_extract_all(replace(coalesce(keyword, ''), {apostrophe}, ''''), "
             f"{sql_string(p['nonspace_run'])})")
    vocabulary_ctes, vocabulary_last = _staged("vocabulary_lists", "raws", {"tokens": "raws"},
                                               breaks=True, name="vocabulary")
    keyword_ctes, keyword_last = _staged("keyword_word_lists", "raws", {"words": "raws"},
                                         breaks=False, name="keyword")
    dropped = _is_dropped("s.raw", "s.term")
    dropped_words = sql_string(p["dropped_words"])
    fast_dropped = (f"length(s.term) <= 1 or regexp_full_match(lower(s.raw), {dropped_words}) "
                    f"or regexp_full_match(s.term, {dropped_words})")
    kept = (f"list_transform(tokens, lambda s: case when s is null then null "
            f"when s.fast then (case when {fast_dropped} then null else s.term end) "
            f"when {dropped} then null else s.term end)")
    # each token's raw text beside those of the next MAX_NGRAM - 1 tokens of its paper (NULL
    # past its end): the token list and its tails unnested side by side, with no sort
    following_raws = ", ".join(f"unnest(tokens[{i}:]) as raw{i}" if i > 1 else "unnest(tokens) as raw1"
                               for i in range(1, spec.MAX_NGRAM + 1))
    following_terms = ", ".join(f"t{i}.term_id as t{i}" for i in range(1, spec.MAX_NGRAM + 1))
    # a part is only looked up when the part before it is a term (an n-gram ends at the first
    # break or dropped token); a token that is no term finds no row of term_raws
    following_joins = " ".join(f"left join term_raws t{i} on t{i}.raw = case when t{i - 1}.term_id is not null "
                               f"then t.raw{i} end" for i in range(2, spec.MAX_NGRAM + 1))
    packed = [f"(t{i + 1}::ubigint << {_GRAM_PART_BITS * (spec.MAX_NGRAM - 1 - i)})" for i in range(spec.MAX_NGRAM)]
    grams = ", ".join(" | ".join(packed[:n]) for n in range(1, spec.MAX_NGRAM + 1))
    return f"""
    papers as ({papers_sql}),
    texts as materialized (
        select row_number() over () as n, paper_id, feed_date, title, abstract, keywords, categories from papers
    ),
    numbered as materialized (
        select n, paper_id, feed_date, keywords, categories,
               {tokens('title')} || ['.'] || {tokens('abstract')} || ['.'] as tokens
        from texts
    ),
    token_rows as (select n, feed_date, {following_raws} from numbered),
    vocabulary_lists as (
        select list(raw) as raws from (select distinct raw1 as raw from token_rows)
        group by hash(raw) % {_VOCABULARY_LISTS}
    ),
    {vocabulary_ctes},
    vocabulary_terms as (
        select unnest(raws) as raw, unnest({kept}) as term from {vocabulary_last}
    ),
    term_ids as (
        select term, case when n < {_GRAM_PART_LIMIT} then n::ubigint
                          else error('term_sql: more than {_GRAM_PART_LIMIT - 1} distinct terms in one statement; pass fewer days') end
                     as term_id
        from (select term, row_number() over () as n from (select distinct term from vocabulary_terms where term is not null))
    ),
    spelling as (select list(term order by term_id) as terms from term_ids),
    term_raws as (select v.raw, i.term_id from vocabulary_terms v join term_ids i using (term)),
    token_terms as (
        select t.n, t.feed_date, {following_terms}
        from token_rows t join term_raws t1 on t1.raw = t.raw1 {following_joins}
    ),
    text_grams as (
        select distinct n, feed_date, gram from (
            select n, feed_date, unnest([{grams}]) as gram from token_terms where t1 is not null)
        where gram is not null
    ),
    keywords as (select n, feed_date, unnest(keywords) as keyword from numbered),
    keyword_words as (
        select keyword, unnest(range(len(words))) as position, unnest(words) as raw
        from (select keyword, {words} as words from (select distinct keyword from keywords))
    ),
    keyword_word_lists as (
        select list(raw) as raws from (select distinct raw from keyword_words)
        group by hash(raw) % {_VOCABULARY_LISTS}
    ),
    {keyword_ctes},
    keyword_word_terms as (
        select unnest(raws) as raw, unnest(list_transform(words, lambda s: s.term)) as term from {keyword_last}
    ),
    keyword_forms as (
        select keyword, array_to_string(list(t.term order by w.position), ' ') as term
        from keyword_words w join keyword_word_terms t using (raw) group by keyword
    ),
    keyword_terms as (
        select distinct k.n, k.feed_date, f.term from keywords k join keyword_forms f using (keyword)
    ),
    category_terms as (
        select distinct n, feed_date, trim(category, {sql_string(k['space_chars'])}) as term
        from (select n, feed_date, unnest(categories) as category from numbered)
    ),
    other_terms as (
        select n, feed_date, 'keyword' as kind, term from keyword_terms where term <> ''
        union all
        select n, feed_date, 'category', term from category_terms where term <> ''
    ),
    paper_terms as (
        select n, feed_date, 'text' as kind, {_spelled('g.gram', 's.terms')} as term from text_grams g, spelling s
        union all
        select * from other_terms
    ),
    term_counts as (
        select feed_date, 'text' as kind, {_spelled('c.gram', 's.terms')} as term, c.papers
        from (select feed_date, gram, count(*)::integer as papers from text_grams group by all) c,
             spelling s
        union all
        select feed_date, kind, term, count(*)::integer from other_terms group by all
    )"""


def _spelled(gram: str, terms: str) -> str:
    """The spelled-out term of the packed n-gram ``gram``, each part's term read from the list
    ``terms`` of every term by id (ids are 1, 2, ...; a part of 0 is absent)."""
    mask = _GRAM_PART_LIMIT - 1
    parts = [f"(({gram} >> {_GRAM_PART_BITS * (spec.MAX_NGRAM - 1 - i)}) & {mask})::bigint" for i in range(spec.MAX_NGRAM)]
    return "concat_ws(' ', " + ", ".join(f"{terms}[{part}]" if i == 0 else f"case when {part} > 0 then {terms}[{part}] end"
                                         for i, part in enumerate(parts)) + ")"


def paper_terms_sql(papers_sql: str) -> str:
    """A query of the distinct ``(paper_id, feed_date, kind, term)`` of the papers of ``papers_sql``.

    ``papers_sql`` is a query with the columns ``paper_id, feed_date, title, abstract,
    keywords varchar[], categories varchar[]`` (NULLs allowed for the texts, the lists and
    their items). Per paper the rows are exactly ``terms.paper_terms(title, abstract,
    keywords, categories)``, ``kind`` being 'text', 'keyword' or 'category'.
    """
    return (f"with {_paper_terms_cte(papers_sql)}\n    select distinct x.paper_id, x.feed_date, t.kind, t.term "
            "from paper_terms t join numbered x using (n)")


def term_counts_sql(papers_sql: str) -> str:
    """A query of ``(feed_date, kind, term, papers)``: how many papers of the day use the term.

    ``papers_sql`` as for ``paper_terms_sql``, with each ``paper_id`` at most once (terms are
    made distinct per paper, then rows are counted).
    """
    return f"with {_paper_terms_cte(papers_sql)}\n    select feed_date, kind, term, papers from term_counts"


def count_terms(con: duckdb.DuckDBPyConnection, papers_sql: str, target_table: str,
                params: list | None = None) -> int:
    """Insert into ``target_table`` (``feed_date, kind, term, papers``) the term counts of ``papers_sql``.

    Runs one statement on ``con`` and neither begins nor commits a transaction, so it can be
    called inside the caller's transaction (delete the days first, then call it once per
    chunk of days). ``params`` are bound to ``papers_sql``'s ``?`` placeholders. Returns the
    number of rows inserted. For memory, pass chunks of days, not ten years at once (see the
    module docstring). Let ``papers_sql`` read committed tables: DuckDB 1.5.5 estimates a table
    created in the open transaction as empty, and on that estimate it builds the statement's
    largest join on the tokens instead of on their terms (a month's statement 1.6 s, not 1.3 s).
    """
    cursor = con.execute(f"insert into {target_table} (feed_date, kind, term, papers) {term_counts_sql(papers_sql)}",
                         params or [])
    row = cursor.fetchone()
    return int(row[0]) if row else 0
