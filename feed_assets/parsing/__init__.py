"""Pure parsers: bytes of a dump in, normalized entries and rejections out (no I/O, no Dagster).

``parse_dump(data, name, feed_date)`` detects the format from the content and runs its
parser. Conventions shared by every format:

- Text is UTF-8 (a leading BOM is dropped) and ``\\r\\n`` line ends are accepted.
- ``Entry.position`` / ``Rejection.position`` number the dump's items from 0 (entries and
  rejected items share one numbering); ``location`` says where, for people ("line 17",
  "item 4").
- A rejection with ``position=None`` is not an item of its own: the whole dump could not
  be read (invalid JSON), or one field of a kept entry was bad (an unreadable date, a
  non-arXiv id); the entry itself is still in ``entries``.
- Malformed input never raises; only a dump of no known format raises UnknownFormatError.
  JSON is read with ``load_json`` (safe_json.py), which raises only ``JsonProblem``, never
  ``RecursionError``: use it for any JSON from a dump or a response.
"""

from __future__ import annotations

import datetime as dt

from .abstract_list import parse_abstract_list
from .arxiv_atom import parse_atom_feed
from .arxiv_listing import parse_arxiv_listing
from .detect import detect_format
from .hf_daily_papers import parse_hf_daily_papers
from .model import Entry, ParseResult, Rejection, UnknownFormatError
from .normalize import FieldProblem
from .papers_page import parse_papers_page
from .safe_json import JsonProblem, load_json

SOURCE_OF_FORMAT: dict[str, str] = {
    "papers_page": "huggingface",
    "papers_page_metadata": "huggingface",
    "hf_daily_papers": "huggingface",
    "arxiv_listing": "arxiv",
    "arxiv_atom": "arxiv",
    "abstract_list": "abstract_list",
}
FORMATS: tuple[str, ...] = tuple(SOURCE_OF_FORMAT)


def parse_dump(data: bytes, name: str, feed_date: dt.date) -> ParseResult:
    """Detect the format of the dump ``data`` (found at ``name``, listed on ``feed_date``) and parse it.

    Raises UnknownFormatError (naming ``name``) when the bytes are not UTF-8 or match no format.
    """
    format_name = detect_format(data, name)
    if format_name in ("papers_page", "papers_page_metadata"):
        return parse_papers_page(data, feed_date)
    if format_name == "abstract_list":
        return parse_abstract_list(data)
    if format_name == "hf_daily_papers":
        return parse_hf_daily_papers(data)
    if format_name == "arxiv_atom":
        return parse_atom_feed(data)
    return parse_arxiv_listing(data)


__all__ = [
    "FORMATS",
    "SOURCE_OF_FORMAT",
    "Entry",
    "FieldProblem",
    "JsonProblem",
    "ParseResult",
    "Rejection",
    "UnknownFormatError",
    "detect_format",
    "load_json",
    "parse_abstract_list",
    "parse_arxiv_listing",
    "parse_atom_feed",
    "parse_dump",
    "parse_hf_daily_papers",
    "parse_papers_page",
]
