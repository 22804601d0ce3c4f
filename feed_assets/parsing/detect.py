"""Which feed format a dump is in, decided from its content (the file extension only breaks ties).

- Text starting with the papers page header: ``papers_page``, or ``papers_page_metadata``
  when the page shows metadata blocks or upvote counts.
- First line starting with ``Abstract:``: ``abstract_list``.
- Starting with ``[``: ``hf_daily_papers``, even when the JSON is broken or truncated, so
  the parser reports it as a rejection instead of an unknown format.
- Starting with ``{``: ``arxiv_listing`` when the first line is a whole JSON object with
  an ``id``, ``title`` or ``summary`` (JSON lines); ``hf_daily_papers`` for an envelope
  object ``{"data": [...]}`` or a pretty-printed object (first line ``{`` alone). Any other
  first line (broken, or an object of neither kind such as ``{"error": ...}``) is an HF
  response for a ``.json`` file and JSON lines otherwise; the parser then rejects it.
- Starting with ``<?xml`` and a ``<feed`` element, or with ``<feed``: ``arxiv_atom``.
- Empty (or blank) files: ``.jsonl`` is an empty arXiv listing, ``.json`` a broken API
  response (reported as a rejection); anything else is an unknown format ("empty file").
- Text is UTF-8, or UTF-16/UTF-32 when the file starts with that byte-order mark. A file
  with a NUL byte in its first 8 KiB (and no UTF-16/32 byte-order mark) is binary.

Everything else, binary files, and bytes that are not UTF-8 (beyond a few damaged bytes,
see decode_text), raise ``UnknownFormatError`` with a message naming the file and why.
"""

from __future__ import annotations

from .abstract_list import FORMAT as ABSTRACT_LIST, is_abstract_list
from .arxiv_atom import FORMAT as ARXIV_ATOM, is_atom_feed
from .arxiv_listing import FORMAT as ARXIV_LISTING
from .hf_daily_papers import FORMAT as HF_DAILY_PAPERS
from .model import UnknownFormatError
from .normalize import decode_text, excerpt, nonblank_lines, printable, text_encoding
from .papers_page import is_papers_page, page_format
from .safe_json import JsonProblem, load_json

BINARY_SNIFF_BYTES = 8192  # as git does: a NUL byte this early means binary, not text


def detect_format(data: bytes, name: str) -> str:
    """The format of the dump ``data`` found at ``name``; raises UnknownFormatError if none fits."""
    name = printable(name)
    encoding = text_encoding(data)
    nul = data.find(b"\x00", 0, BINARY_SNIFF_BYTES)
    if encoding == "utf-8" and nul >= 0:
        raise UnknownFormatError(f"{name}: a binary file, not text (a NUL byte at byte offset {nul})")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        bad_bytes = len(data) - len(data.decode(error.encoding, errors="ignore").encode(error.encoding))
        raise UnknownFormatError(
            f"{name}: not {encoding.upper()} text (byte offset {error.start}: {error.reason}; "
            f"about {max(bad_bytes, 1):,} bad byte(s) in {len(data):,})") from error
    first_line = next(nonblank_lines(text), "")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if not first_line:
        return _format_of_empty(name, extension, len(data))
    if is_papers_page(text):
        return page_format(text)
    if is_abstract_list(text):
        return ABSTRACT_LIST
    if is_atom_feed(text):
        return ARXIV_ATOM
    if first_line.startswith("["):
        return HF_DAILY_PAPERS
    if first_line.startswith("{"):
        return _format_of_json_object(first_line, extension)
    raise UnknownFormatError(
        f"{name}: not a known feed format (first line: {excerpt(first_line, 80)!r})")


def _format_of_empty(name: str, extension: str, size: int) -> str:
    """An empty dump is only a format when its extension says which one."""
    if extension == "jsonl":
        return ARXIV_LISTING
    if extension == "json":
        return HF_DAILY_PAPERS
    what = "0 bytes" if size == 0 else f"{size:,} bytes of blank lines only"
    raise UnknownFormatError(f"{name}: empty file ({what}), not a known feed format")


def _format_of_json_object(first_line: str, extension: str) -> str:
    """JSON lines (arXiv listing) or one JSON object (an HF response in an envelope)."""
    first_record = _json_or_none(first_line)
    if isinstance(first_record, dict):
        if _is_envelope(first_record):
            return HF_DAILY_PAPERS
        if first_record.keys() & {"id", "title", "summary"}:
            return ARXIV_LISTING
    if first_line == "{":
        return HF_DAILY_PAPERS
    return HF_DAILY_PAPERS if extension == "json" else ARXIV_LISTING


def _is_envelope(value: object) -> bool:
    """An object wrapping the API's array of papers as ``{"data": [...]}``, with no paper fields."""
    return (isinstance(value, dict) and isinstance(value.get("data"), list)
            and "title" not in value and "summary" not in value)


def _json_or_none(text: str) -> object:
    """The parsed JSON value, or None when the text is not valid (or readable) JSON."""
    try:
        return load_json(text)
    except JsonProblem:
        return None
