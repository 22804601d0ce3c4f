"""Parser for an arXiv listing in JSON lines (docs/FEED_FORMATS.md section 5): one paper object per line.

A line looks like ``{"id": "2505.23969", "authors": [...], "title": ..., "categories": [...],
"summary": ...}``; titles and summaries keep arXiv's hard line breaks, which clean_text folds.

Decisions for what the format leaves open:

- Blank lines are skipped. Positions count the non-blank lines from 0; locations are
  ``"line N"`` (1-based, physical lines).
- Rejected lines: invalid JSON (or JSON nested too deeply), JSON that is not an object, an
  object with neither a title nor a summary, a text field holding a lone surrogate
  (``"\\ud800"``, not valid Unicode).
- An ``id`` that is missing or not an arXiv id keeps the entry (it still has a title or
  summary) with ``arxiv_id`` None; a present but unreadable id also adds a Rejection with
  ``position=None`` so the problem is visible.
"""

from __future__ import annotations

from .model import Entry, ParseResult, Rejection, read_arxiv_id
from .normalize import FieldProblem, clean_strings, clean_text, decode_text, excerpt, split_lines
from .safe_json import MAX_ITEM_DEPTH, JsonProblem, load_json, nesting_depth

FORMAT = "arxiv_listing"


def parse_arxiv_listing(data: bytes) -> ParseResult:
    """Parse a JSON-lines arXiv listing into entries and rejections (raises UnicodeDecodeError if not UTF-8)."""
    result = ParseResult(format=FORMAT)
    position = 0
    for line_number, line in enumerate(split_lines(decode_text(data)), start=1):
        if line.strip():
            _read_line(position, f"line {line_number}", line, result)
            position += 1
    return result


def _read_line(position: int, location: str, line: str, result: ParseResult) -> None:
    """Append the line's entry (and any field problem), or its rejection, to ``result``."""
    try:
        record = load_json(line)
    except JsonProblem as error:
        column = error.location.rpartition(" ")[2]
        reason = error.reason.replace("invalid JSON: ", f"invalid JSON at column {column}: ")
        result.rejections.append(Rejection(position, location, reason, excerpt(line)))
        return
    # each level of nesting opens with a bracket of the line, so a line with few brackets is
    # shallow enough without walking its value (most lines: 5 % of parsing a listing)
    if line.count("[") + line.count("{") > MAX_ITEM_DEPTH and nesting_depth(record) > MAX_ITEM_DEPTH:
        result.rejections.append(Rejection(
            position, location, f"line is JSON nested more than {MAX_ITEM_DEPTH} levels deep", excerpt(line)))
        return
    if not isinstance(record, dict):
        result.rejections.append(Rejection(position, location, "line is JSON but not an object", excerpt(line)))
        return
    try:
        title = clean_text(record.get("title"), "title")
        abstract = clean_text(record.get("summary"), "summary")
        authors = clean_strings(record.get("authors"), "author name")
        categories = clean_strings(record.get("categories"), "category")
    except FieldProblem as problem:
        result.rejections.append(Rejection(position, location, f"object rejected: {problem}", excerpt(line)))
        return
    if title is None and abstract is None:
        result.rejections.append(Rejection(
            position, location, "object has neither a title nor a summary", excerpt(line)))
        return
    arxiv_id = read_arxiv_id(record.get("id"), location, result.rejections)
    result.entries.append(Entry(
        position=position,
        location=location,
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        authors=authors,
        author_count=len(authors) if isinstance(record.get("authors"), list) else None,
        categories=categories,
    ))

