"""Parser for the Hugging Face daily papers API (docs/FEED_FORMATS.md section 4): a JSON array of items.

Each item is ``{"paper": {...}, "title": ..., "summary": ..., "numComments": ...}``; a flat
paper object (the ``/api/papers/{id}`` shape, no ``paper`` key) is read the same way.

Decisions for what the format leaves open:

- Positions are 0-based indexes in the array; locations are ``"item N"``, 1-based for
  people (position 0 is ``"item 1"``).
- Rejected items: a string (the real files hold Python ``repr`` strings on some days), any
  other non-object, an object with neither a title nor an abstract.
- A body that is not valid JSON (e.g. truncated, or nested too deeply for the parser) gives
  no entries and one Rejection with ``position=None`` and location ``"line L column C"``;
  so does valid JSON that is neither an array nor an envelope object ``{"data": [...]}``
  (one real day is wrapped that way: its items are read from ``data``).
- An item is also rejected when it is nested more than ``MAX_ITEM_DEPTH`` levels deep, when
  a text field holds a lone surrogate (``"\\ud800"``, not valid Unicode), or when a count
  (upvotes, comments) is out of the 32-bit range the warehouse keeps.
- A ``paper.id`` that is present but not an arXiv id keeps the entry with ``arxiv_id``
  None and adds a Rejection with ``position=None`` naming the id.
"""

from __future__ import annotations

from typing import Any

from .model import Entry, ParseResult, Rejection, read_arxiv_id
from .normalize import (
    FieldProblem, clean_strings, clean_text, decode_text, excerpt, optional_int, parse_iso_date)
from .safe_json import MAX_ITEM_DEPTH, JsonProblem, json_excerpt_source, load_json, nesting_depth

FORMAT = "hf_daily_papers"


def parse_hf_daily_papers(data: bytes) -> ParseResult:
    """Parse one daily papers API response into entries and rejections (raises UnicodeDecodeError if not UTF-8)."""
    text = decode_text(data)
    try:
        body = load_json(text)
    except JsonProblem as error:
        return _whole_body_rejected(error.location, error.reason, text[max(0, error.pos - 150): error.pos + 50] or text)
    items = _items_of(body)
    if items is None:
        return _whole_body_rejected(
            "line 1 column 1", f"not a JSON array of papers but a JSON {_json_type(body)}", text)
    result = ParseResult(format=FORMAT)
    for position, item in enumerate(items):
        _read_item(position, item, result)
    return result


def _items_of(body: Any) -> list[Any] | None:
    """The array of items: the body itself, or the ``data`` array of an envelope object."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    return None


def _whole_body_rejected(location: str, reason: str, text: str) -> ParseResult:
    """A result with no entries and one rejection for a body that cannot be read at all."""
    return ParseResult(format=FORMAT, rejections=[
        Rejection(position=None, location=location, reason=reason, excerpt=excerpt(text))])


def _read_item(position: int, item: Any, result: ParseResult) -> None:
    """Append the item's entry (and any field problem), or its rejection, to ``result``."""
    location = f"item {position + 1}"
    if isinstance(item, str):
        reason = ("item is a Python repr string, not a JSON object" if item.lstrip().startswith("{")
                  else "item is a JSON string, not an object")
        result.rejections.append(Rejection(position, location, reason, excerpt(item)))
        return
    depth = nesting_depth(item)
    if depth > MAX_ITEM_DEPTH:
        result.rejections.append(Rejection(
            position, location, f"item is nested more than {MAX_ITEM_DEPTH} levels deep",
            f"(a JSON {_json_type(item)} nested more than {MAX_ITEM_DEPTH} levels deep)"))
        return
    if not isinstance(item, dict):
        result.rejections.append(Rejection(
            position, location, f"item is a JSON {_json_type(item)}, not an object", excerpt(json_excerpt_source(item))))
        return
    try:
        entry = _entry_of(position, location, item, result.rejections)
    except FieldProblem as problem:
        result.rejections.append(Rejection(position, location, f"item rejected: {problem}",
                                           excerpt(json_excerpt_source(item))))
        return
    if entry is None:
        result.rejections.append(Rejection(
            position, location, "item has neither a title nor an abstract", excerpt(json_excerpt_source(item))))
        return
    result.entries.append(entry)


def _entry_of(position: int, location: str, item: dict[str, Any], notes: list[Rejection]) -> Entry | None:
    """The item's entry (None without title and abstract); raises FieldProblem for a field that
    cannot be kept, before anything is added to ``notes``."""
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else item
    title = clean_text(paper.get("title"), "paper.title") or clean_text(item.get("title"), "title")
    abstract = clean_text(paper.get("summary"), "paper.summary") or clean_text(item.get("summary"), "summary")
    if title is None and abstract is None:
        return None
    authors = _author_names(paper.get("authors"))
    fields = dict(
        authors=authors,
        author_count=len(authors) if isinstance(paper.get("authors"), list) else None,
        organization=_organization(paper) or _organization(item),
        published_date=parse_iso_date(paper.get("publishedAt")) or parse_iso_date(item.get("publishedAt")),
        upvotes=optional_int(paper.get("upvotes"), "paper.upvotes"),
        comments=optional_int(item.get("numComments"), "numComments"),
        keywords=clean_strings(paper.get("ai_keywords"), "paper.ai_keywords"),
    )
    arxiv_id = read_arxiv_id(paper.get("id"), location, notes, what="paper id")
    return Entry(position=position, location=location, title=title, abstract=abstract, arxiv_id=arxiv_id, **fields)


def _author_names(authors: Any) -> tuple[str, ...]:
    """The authors' names in order (objects with a ``name``, or plain strings)."""
    if not isinstance(authors, list):
        return ()
    names = (author.get("name") if isinstance(author, dict) else author for author in authors)
    return tuple(name for name in (clean_text(n, "author name") if isinstance(n, str) else None for n in names)
                 if name)


def _organization(record: dict[str, Any]) -> str | None:
    """The organization's full name, else its short name, else None."""
    organization = record.get("organization")
    if not isinstance(organization, dict):
        return None
    return (clean_text(organization.get("fullname"), "organization.fullname")
            or clean_text(organization.get("name"), "organization.name"))



def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
