"""Parser for the arXiv API's Atom feed (docs/FEED_FORMATS.md section 6).

XML from the network is untrusted: it is parsed with defusedxml, which refuses DTDs with
entity declarations (billion laughs, external entities) instead of expanding them. Such a
feed, or XML that is not well-formed, gives no entries and one rejection for the whole
dump (``position=None``), as a broken JSON response does.

An ``<entry>`` becomes an Entry: the arXiv id from ``<id>http://arxiv.org/abs/2403.01234v2</id>``
without its version, ``<title>``, ``<summary>``, authors from ``<author><name>``, the
published date, and categories (primary first). Positions count entries from 0; locations
are ``"entry N"`` (1-based). An entry with neither a title nor a summary, or with a field
clean_text refuses (too long), is rejected; an id that is not an arXiv id is reported and
the entry kept without one. The
API's error feed (one entry titled ``Error``) is rejected with its message.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .model import Entry, ParseResult, Rejection, read_arxiv_id
from .normalize import FieldProblem, clean_text, excerpt, parse_iso_date

FORMAT = "arxiv_atom"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def is_atom_feed(text: str) -> bool:
    """Whether the text looks like an Atom feed (decided before parsing anything)."""
    head = text.lstrip()[:500]
    return head.startswith("<?xml") and "<feed" in head or head.startswith("<feed")


def parse_atom_feed(data: bytes) -> ParseResult:
    """Parse an arXiv API response into entries and rejections; never expands entities."""
    result = ParseResult(format=FORMAT)
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        result.rejections.append(Rejection(None, "document", f"unsafe XML refused: {error}", excerpt(_text(data))))
        return result
    except ParseError as error:
        line, column = error.position
        result.rejections.append(Rejection(
            None, f"line {line} column {column}", f"XML is not well-formed: {error}", excerpt(_text(data))))
        return result
    for position, element in enumerate(root.findall(f"{ATOM}entry")):
        _read_entry(position, element, result)
    return result


def total_results(data: bytes) -> int | None:
    """The feed's ``opensearch:totalResults`` (how many entries all pages hold), if present."""
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError):
        return None
    return read_total(root.findtext(f"{OPENSEARCH}totalResults"))


def read_total(value: str | None) -> int | None:
    """``opensearch:totalResults`` as an int when it is plain ASCII digits (``"²"`` is a digit to
    ``str.isdigit`` but not to ``int``), else None."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _read_entry(position: int, element: Element, result: ParseResult) -> None:
    location = f"entry {position + 1}"
    raw_id = (element.findtext(f"{ATOM}id") or "").strip()
    try:
        title = clean_text(element.findtext(f"{ATOM}title"), "title")
        summary = clean_text(element.findtext(f"{ATOM}summary"), "summary")
        authors = tuple(name for name in (clean_text(a.findtext(f"{ATOM}name"), "author name")
                                          for a in element.findall(f"{ATOM}author")) if name)
    except FieldProblem as problem:
        result.rejections.append(Rejection(position, location, f"entry rejected: {problem}",
                                           excerpt(raw_id or "(no id)")))
        return
    if title == "Error" and "api/errors" in raw_id:
        result.rejections.append(Rejection(position, location, f"arXiv API error: {summary}", excerpt(summary or "")))
        return
    if title is None and summary is None:
        result.rejections.append(Rejection(position, location, "entry has neither a title nor a summary",
                                           excerpt(raw_id or "(no id)")))
        return
    primary = element.find(f"{ARXIV}primary_category")
    categories = [primary.get("term")] if primary is not None and primary.get("term") else []
    categories += [c.get("term") for c in element.findall(f"{ATOM}category")
                   if c.get("term") and c.get("term") not in categories]
    arxiv_id = read_arxiv_id(raw_id or None, location, result.rejections)
    result.entries.append(Entry(
        position=position, location=location, title=title, abstract=summary,
        arxiv_id=arxiv_id, authors=authors, author_count=len(authors) or None,
        published_date=parse_iso_date(element.findtext(f"{ATOM}published")),
        categories=tuple(categories),
    ))


def _text(data: bytes) -> str:
    return data[:400].decode("utf-8", errors="replace")
