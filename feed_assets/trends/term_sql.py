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
- Runs and n-grams: each text becomes the list of its tokens and breaks, mapped to the term
  form or NULL (a break or a dropped token). An n-gram at position i is
  ``t[i] || ' ' || t[i+1] ...``, NULL as soon as one part is NULL, so runs need no ids.

Chunking: ``count_terms`` holds one chunk's (day, kind, term) groups in a hash table, about
300 distinct terms per paper before grouping. Pass ranges of days (a month of days is a good
default, see ``RECOMMENDED_CHUNK_DAYS`` and ``feed_assets_tests/measure_term_sql.py``), each
call appends only its own days, so calls can run one after another inside one transaction.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

import duckdb

from feed_assets.trends import terms as spec

RECOMMENDED_CHUNK_DAYS = 31
_ALL_CHARS = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


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
    return "".join(re.findall(pattern, _ALL_CHARS))


@lru_cache(maxsize=1)
def _classes() -> dict[str, str]:
    """RE2 class bodies of the Python character sets the extraction depends on."""
    word = _python_class(r"\w")
    space = _python_class(r"\s")
    upper = "".join(c for c in _ALL_CHARS if c.isupper())
    alpha = "".join(c for c in _ALL_CHARS if c.isalpha())
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
    for c in _ALL_CHARS:
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
            variants = "".join(re.findall(re.escape(char), _ALL_CHARS, re.IGNORECASE))
            out.append(f"[{_ranges(variants)}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _words_regex(words) -> str:
    """An RE2 alternation matching exactly the given words (to use with regexp_full_match)."""
    return "(?:" + "|".join(re.escape(word) for word in sorted(words)) + ")"


def _sql_list(words) -> str:
    """A SQL list literal of strings."""
    return "[" + ", ".join(_sql_string(word) for word in sorted(words)) + "]"


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
                 f"{_sql_string(p['final_sigma'])}, '\\1\u03c2\\2\\3', 'g') else {x} end)")
    return f"lower(replace({fixed}, '\u0130', 'i\u0307'))"


def _keeps_case(x: str) -> str:
    """``terms.keeps_case``: two or more uppercase characters."""
    return f"regexp_matches({x}, {_sql_string(_patterns()['two_upper'])})"


def _slice_off(x: str, n: int) -> str:
    """``x[:-n]``."""
    return f"left({x}, length({x}) - {n})"


def _fold_plural(w: str) -> str:
    """``terms.fold_plural`` of a lowercase SQL string ``w``."""
    irregular = " ".join(f"when {_sql_string(k)} then {_sql_string(v)}" for k, v in sorted(spec._IRREGULAR_PLURALS.items()))

    def ends(*suffixes: str) -> str:
        return "(" + " or ".join(f"suffix({w}, {_sql_string(s)})" for s in suffixes) + ")"

    return f"""(case
        when {w} in ({", ".join(map(_sql_string, sorted(spec._IRREGULAR_PLURALS)))}) then (case {w} {irregular} end)
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
        when length({t}) > 2 and regexp_matches({t}, {_sql_string(p['upper_then_s'])}) then {_slice_off(t, 1)}
        else list_transform([{lowered}], lambda lw: list_transform([{folded}], lambda f:
                 case when starts_with(lw, f) then left({t}, length(f)) else {t} end)[1])[1]
    end)"""


def _fold_part(x: str) -> str:
    """``terms._fold_part`` of a case-ruled SQL string ``x``."""
    p = _patterns()
    return f"""(case
        when not regexp_full_match({x}, {_sql_string(p['all_alpha'])}) then {x}
        when {_keeps_case(x)} then {_fold_cased(x)}
        else {_fold_plural(x)}
    end)"""


def _case_part(x: str) -> str:
    """``terms._case_part``: kept if two or more capitals, else Python-lowercased."""
    return f"(case when {_keeps_case(x)} then {x} else {_lower(x)} end)"


def _normalize_parts(token: str) -> str:
    """The case-ruled hyphen parts of ``normalize_token(token)`` (possessive cut), a SQL list."""
    p = _patterns()
    no_possessive = (f"(case when regexp_matches({token}, {_sql_string(p['possessive'])}) "
                     f"then {_slice_off(token, 2)} else {token} end)")
    return f"list_transform(string_split({no_possessive}, '-'), lambda part: {_case_part('part')})"


def _join_folded(parts: str) -> str:
    """``'-'.join(parts[:-1] + [_fold_part(parts[-1])])`` of a SQL list of case-ruled parts."""
    last = f"{parts}[len({parts})]"
    return (f"(case when len({parts}) = 1 then {_fold_part(last)} "
            f"else array_to_string(list_slice({parts}, 1, len({parts}) - 1), '-') || '-' || {_fold_part(last)} end)")


def _is_dropped(raw: str, normalized: str) -> str:
    """``terms.is_dropped``: single character, no letter, stopword or boilerplate."""
    p = _patterns()
    dropped = _sql_string(p["dropped_words"])
    return (f"(length({normalized}) <= 1 or not regexp_matches({normalized}, {_sql_string(p['alpha'])}) "
            f"or regexp_full_match({_lower(raw, sigma=False)}, {dropped}) "
            f"or regexp_full_match({_lower(normalized, sigma=False)}, {dropped}))")


def _ngrams(kept: str) -> str:
    """The 1- to MAX_NGRAM-grams of a SQL list of kept terms or NULLs (NULL breaks a run)."""
    lists = []
    for n in range(1, spec.MAX_NGRAM + 1):
        gram = " || ' ' || ".join(f"{kept}[i + {k}]" for k in range(n))
        lists.append(f"list_transform(range(1, len({kept}) + 2 - {n}), lambda i: {gram})")
    return f"list_filter(flatten([{', '.join(lists)}]), lambda g: g is not null)"


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------

def _paper_term_lists_sql(papers_sql: str) -> str:
    """One row per paper: ``paper_id, feed_date, text_terms, keyword_terms, category_terms``
    (lists, each without duplicates)."""
    p = _patterns()
    k = _classes()
    apostrophe = "'\u2019'"
    cut = f"regexp_replace(replace(coalesce(__FIELD__, ''), {apostrophe}, ''''), {_sql_string(p['cut_out'])}, ' . \\1', 'g')"
    tokens = f"regexp_extract_all({cut}, {_sql_string(p['token_or_break'])})"
    # each token (NULL for a break) as {{raw, parts}}, then {{raw, normalized}}, then kept term or NULL
    staged = f"""list_transform({tokens}, lambda r: case when length(r) = 1 and contains({_sql_string(spec._PHRASE_END)}, r) then null
                 else {{'raw': r, 'parts': {_normalize_parts('r')}}} end)"""
    keyword_words = f"regexp_extract_all(replace(coalesce(kw, ''), {apostrophe}, ''''), {_sql_string(p['nonspace_run'])})"
    keyword_term = f"array_to_string(list_transform({keyword_words}, lambda w: list_transform([{_normalize_parts('w')}], lambda ps: {_join_folded('ps')})[1]), ' ')"
    category = f"trim(c, {_sql_string(k['space_chars'])})"
    return f"""
    with papers as ({papers_sql}),
    tokenized as (
        select paper_id, feed_date,
               {staged.replace('__FIELD__', 'title')} as title_tokens,
               {staged.replace('__FIELD__', 'abstract')} as abstract_tokens,
               list_distinct(list_filter(list_transform(coalesce(keywords, []), lambda kw: {keyword_term}), lambda t: t <> '')) as keyword_terms,
               list_distinct(list_filter(list_transform(coalesce(categories, []), lambda c: {category}), lambda t: t <> '')) as category_terms
        from papers
    ), normalized as (
        select paper_id, feed_date, keyword_terms, category_terms,
               list_transform(title_tokens, lambda s: {{'raw': s.raw, 'term': {_join_folded('s.parts')}}}) as title_tokens,
               list_transform(abstract_tokens, lambda s: {{'raw': s.raw, 'term': {_join_folded('s.parts')}}}) as abstract_tokens
        from tokenized
    ), kept as (
        select paper_id, feed_date, keyword_terms, category_terms,
               list_transform(title_tokens, lambda s: case when s.term is null or {_is_dropped('s.raw', 's.term')} then null else s.term end) as title_kept,
               list_transform(abstract_tokens, lambda s: case when s.term is null or {_is_dropped('s.raw', 's.term')} then null else s.term end) as abstract_kept
        from normalized
    )
    select paper_id, feed_date,
           list_distinct({_ngrams('title_kept')} || {_ngrams('abstract_kept')}) as text_terms,
           keyword_terms, category_terms
    from kept
    """


def paper_terms_sql(papers_sql: str) -> str:
    """A query of the distinct ``(paper_id, feed_date, kind, term)`` of the papers of ``papers_sql``.

    ``papers_sql`` is a query (or table name in a ``select``) with the columns ``paper_id,
    feed_date, title, abstract, keywords varchar[], categories varchar[]`` (NULLs allowed
    for the texts and lists). Per paper the rows are exactly ``terms.paper_terms(title,
    abstract, keywords, categories)``, ``kind`` being 'text', 'keyword' or 'category'.
    """
    return f"""
    with term_lists as ({_paper_term_lists_sql(papers_sql)})
    select distinct paper_id, feed_date, kind, term from (
        select paper_id, feed_date, 'text' as kind, unnest(text_terms) as term from term_lists
        union all
        select paper_id, feed_date, 'keyword', unnest(keyword_terms) from term_lists
        union all
        select paper_id, feed_date, 'category', unnest(category_terms) from term_lists
    )
    """


def term_counts_sql(papers_sql: str) -> str:
    """A query of ``(feed_date, kind, term, papers)``: papers per day using each term.

    ``papers_sql`` as for ``paper_terms_sql``, with each ``paper_id`` at most once (a paper's
    terms are made distinct per paper, then rows are counted).
    """
    return f"""
    with term_lists as ({_paper_term_lists_sql(papers_sql)}),
    paper_terms as (
        select feed_date, 'text' as kind, unnest(text_terms) as term from term_lists
        union all
        select feed_date, 'keyword', unnest(keyword_terms) from term_lists
        union all
        select feed_date, 'category', unnest(category_terms) from term_lists
    )
    select feed_date, kind, term, count(*)::integer as papers
    from paper_terms group by feed_date, kind, term
    """


def count_terms(con: duckdb.DuckDBPyConnection, papers_sql: str, target_table: str,
                params: list | None = None) -> int:
    """Insert into ``target_table`` (``feed_date, kind, term, papers``) the term counts of ``papers_sql``.

    Runs one statement on ``con`` and neither begins nor commits a transaction, so it can be
    called inside the caller's transaction (delete the days first, then call it once per
    chunk of days). ``params`` are bound to ``papers_sql``'s ``?`` placeholders. Returns the
    number of rows inserted. For memory, pass chunks of days, not ten years at once
    (``RECOMMENDED_CHUNK_DAYS``).
    """
    cursor = con.execute(f"insert into {target_table} (feed_date, kind, term, papers) {term_counts_sql(papers_sql)}",
                         params or [])
    row = cursor.fetchone()
    return int(row[0]) if row else 0
