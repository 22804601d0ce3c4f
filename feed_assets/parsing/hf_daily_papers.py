"""Parser for the Hugging Face daily papers API (FEED_FORMATS.md section 4): a JSON array of items.

Each item is ``{"paper": {...}, "title": ..., "summary": ..., "numComments": ...}``; a flat
paper object (the ``/api/papers/{id}`` shape, no ``paper`` key) is read the same way.

Decisions for what the format leaves open:

- Positions are 0-based indexes in the array; locations are ``"item N"``, 1-based for
  people (position 0 is ``"item 1"``).
- Rejected items: a string (the real files hold Python ``repr`` strings on some days), any
  other non-object, an object with neither a title nor an abstract.
- A body that is not valid JSON (e.g. truncated) gives no entries and one Rejection with
  ``position=None`` and location ``"line L column C"``; so does valid JSON that is neither
  an array nor an envelope object ``{"data": [...]}`` (one real day is wrapped that way:
  its items are read from ``data``).
- A ``paper.id`` that is present but not an arXiv id keeps the entry with ``arxiv_id``
  None and adds a Rejection with ``position=None`` naming the id.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Entry, ParseResult, Rejection, read_arxiv_id
from .normalize import (
    clean_strings, clean_text, decode_text, excerpt, optional_int, parse_iso_date)

FORMAT = "hf_daily_papers"


def parse_hf_daily_papers(data: bytes) -> ParseResult:
    """Parse one daily papers API response into entries and rejections (raises UnicodeDecodeError if not UTF-8)."""
    text = decode_text(data)
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        return _whole_body_rejected(
            f"line {error.lineno} column {error.colno}",
            f"invalid JSON: {error.msg}",
            text[max(0, error.pos - 150): error.pos + 50] or text)
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
    if not isinstance(item, dict):
        result.rejections.append(Rejection(
            position, location, f"item is a JSON {_json_type(item)}, not an object", excerpt(json.dumps(item))))
        return
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else item
    title = clean_text(paper.get("title")) or clean_text(item.get("title"))
    abstract = clean_text(paper.get("summary")) or clean_text(item.get("summary"))
    if title is None and abstract is None:
        result.rejections.append(Rejection(
            position, location, "item has neither a title nor an abstract", excerpt(json.dumps(item))))
        return
    arxiv_id = read_arxiv_id(paper.get("id"), location, result.rejections, what="paper id")
    authors = _author_names(paper.get("authors"))
    result.entries.append(Entry(
        position=position,
        location=location,
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        authors=authors,
        author_count=len(authors) if isinstance(paper.get("authors"), list) else None,
        organization=_organization(paper) or _organization(item),
        published_date=parse_iso_date(paper.get("publishedAt")) or parse_iso_date(item.get("publishedAt")),
        upvotes=optional_int(paper.get("upvotes")),
        comments=optional_int(item.get("numComments")),
        keywords=clean_strings(paper.get("ai_keywords")),
    ))


def _author_names(authors: Any) -> tuple[str, ...]:
    """The authors' names in order (objects with a ``name``, or plain strings)."""
    if not isinstance(authors, list):
        return ()
    names = (author.get("name") if isinstance(author, dict) else author for author in authors)
    return tuple(name for name in (clean_text(n) if isinstance(n, str) else None for n in names) if name)


def _organization(record: dict[str, Any]) -> str | None:
    """The organization's full name, else its short name, else None."""
    organization = record.get("organization")
    if not isinstance(organization, dict):
        return None
    return clean_text(organization.get("fullname")) or clean_text(organization.get("name"))



def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
