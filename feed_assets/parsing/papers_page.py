"""Parser for a Hugging Face papers page copied as text (docs/FEED_FORMATS.md sections 1 and 2).

The page starts with its header (``new``, ``Get trending papers in your email inbox!``,
``Subscribe``, an optional ``Daily Papers`` / ``[Daily Papers]``, ``byAK and the research
community``), then the page's date (``Mar 14``). After it come blocks of lines separated by
blank lines: a title block, then its abstract block, then optionally a metadata block::

      • 4 authors          (or "  • <Organization name>"; may be absent)
    ·
    Sep 24, 2024 2         (a date, "Aug 5" meaning the page's year, then an optional comment count)

An upvote count alone on its line right before a title belongs to that title's paper.

Decisions for what the format leaves open:

- The result's format is ``papers_page_metadata`` when the page shows any metadata (a
  metadata block or an upvote count) and ``papers_page`` otherwise.
- Positions number the page's papers 0, 1, 2, ... in page order; a rejected paper (a title
  with no abstract, a metadata block with no paper before it) takes a position like an
  entry. Locations are ``"line N"`` (1-based) of the paper's title or of the bad line.
- A problem inside one field of a good paper (an unreadable date line, a metadata block
  without its ``·`` line, an upvote count with no title after it) keeps the paper, leaves
  the field None and adds a Rejection with ``position=None`` so the problem stays visible.
- A date without a year is completed with the page's declared date as reference (the
  feed date when the page shows none), so on a page dated Jan 2, ``Dec 30`` is the
  December before. A metadata block without a count leaves ``comments`` None (unknown).
- A paper whose upvote, author or comment count is out of the 32-bit range the warehouse
  keeps, or whose text cannot be kept (see clean_text), is rejected at its title's line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from itertools import islice

from .model import Entry, ParseResult, Rejection, UnknownFormatError
from .normalize import (
    FieldProblem, clean_text, complete_date, count_of, decode_text, excerpt, nonblank_lines, parse_month_day,
    split_lines)

FORMAT_PLAIN = "papers_page"
FORMAT_WITH_METADATA = "papers_page_metadata"

HEADER_START = ("new", "Get trending papers in your email inbox!")
HEADER_LINES = frozenset({
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "[Daily Papers]",
    "byAK and the research community",
})
BULLET = "•"
MIDDLE_DOT = "·"
_AUTHOR_COUNT = re.compile(r"^(\d+) authors?$")
_NUMBER = re.compile(r"^\d+$")


@dataclass
class _Block:
    """Consecutive non-blank lines (stripped), with the 1-based number of the first one."""

    line_number: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The block's lines joined by spaces."""
        return " ".join(self.lines)

    def rest(self, start: int) -> _Block | None:
        """The block from its ``start``-th line on, or None if nothing is left."""
        if start >= len(self.lines):
            return None
        return _Block(self.line_number + start, self.lines[start:])


def is_papers_page(text: str) -> bool:
    """Whether the text starts with the papers page header (its first two non-blank lines)."""
    return tuple(islice(nonblank_lines(text), 2)) == HEADER_START


def page_format(text: str) -> str:
    """``papers_page_metadata`` if the page shows any metadata block or upvote count, else ``papers_page``."""
    lines = split_lines(text)
    body_start, _ = _read_header(lines)
    if any(_is_metadata(block) or _is_upvote_count(block) for block in _blocks(lines, body_start)):
        return FORMAT_WITH_METADATA
    return FORMAT_PLAIN


def parse_papers_page(data: bytes, feed_date: dt.date) -> ParseResult:
    """Parse a copied papers page (with or without metadata) into entries and rejections.

    ``feed_date`` completes the page's date (``Mar 14``), which becomes ``declared_date``.
    Raises ``UnknownFormatError`` if the text does not start with the page header, and
    ``UnicodeDecodeError`` if the bytes are not UTF-8.
    """
    text = decode_text(data)
    if not is_papers_page(text):
        raise UnknownFormatError(
            "not a papers page: it does not start with 'new' and 'Get trending papers in your email inbox!'")
    lines = split_lines(text)
    body_start, page_date = _read_header(lines)
    declared_date = complete_date(*page_date, reference=feed_date) if page_date else None
    reader = _PageReader(date_reference=declared_date or feed_date)
    for block in _blocks(lines, body_start):
        reader.add(block)
    reader.finish()
    return ParseResult(
        format=page_format(text),
        entries=reader.entries,
        rejections=reader.rejections,
        declared_date=declared_date,
    )


def _read_header(lines: list[str]) -> tuple[int, tuple[int, int, int | None] | None]:
    """Skip the header; return the index of the first body line and the page's (month, day, year)."""
    index = 0
    while index < len(lines) and (not lines[index].strip() or lines[index].strip() in HEADER_LINES):
        index += 1
    if index < len(lines):
        page_date = parse_month_day(lines[index].strip())
        if page_date:
            return index + 1, page_date
    return index, None


def _blocks(lines: list[str], start: int) -> list[_Block]:
    """Group ``lines[start:]`` into blocks separated by blank lines."""
    blocks: list[_Block] = []
    current: _Block | None = None
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if not stripped:
            current = None
            continue
        if current is None:
            current = _Block(line_number=index + 1)
            blocks.append(current)
        current.lines.append(stripped)
    return blocks


def _is_metadata(block: _Block) -> bool:
    """A metadata block starts with a ``•`` line or with the ``·`` line."""
    first = block.lines[0]
    return first.startswith(BULLET) or first == MIDDLE_DOT


def _is_upvote_count(block: _Block) -> bool:
    """An upvote count is a line holding only a number (the title may follow in the same block)."""
    return bool(_NUMBER.match(block.lines[0]))


def _read_date_line(line: str, reference: dt.date) -> tuple[dt.date | None, int | None]:
    """``"Sep 24, 2024 2"`` -> (2024-09-24, 2); ``"Aug 5"`` -> (reference's year, None); bad -> (None, None).

    Raises FieldProblem for a comment count out of range.
    """
    parts = parse_month_day(line)
    comments = None
    if parts is None:
        head, _, tail = line.rpartition(" ")
        if _NUMBER.match(tail):
            parts = parse_month_day(head)
            comments = count_of(tail, "comment count") if parts else None
    if parts is None:
        return None, None
    published = complete_date(*parts, reference=reference)
    return (published, comments) if published else (None, None)


class _PageReader:
    """Walks a page's blocks in order: pairs titles with abstracts and attaches metadata."""

    def __init__(self, date_reference: dt.date) -> None:
        """Start an empty page whose year-less dates are completed against ``date_reference``."""
        self.date_reference = date_reference
        self.entries: list[Entry] = []
        self.rejections: list[Rejection] = []
        self._next_position = 0
        self._title: _Block | None = None
        self._title_upvotes: int | FieldProblem | None = None
        self._upvotes: tuple[int | FieldProblem, _Block] | None = None
        self._last_entry_open = False

    def add(self, block: _Block) -> None:
        """Take the next block of the page."""
        if _is_metadata(block):
            self._add_metadata(block)
        elif _is_upvote_count(block):
            self._add_upvote_count(block)
        else:
            self._add_text(block)

    def finish(self) -> None:
        """Report what the page left unfinished at its end."""
        if self._title is not None:
            self._reject_title("a title at the end of the page with no abstract after it")
        self._drop_pending_upvotes()

    def _add_text(self, block: _Block) -> None:
        """A text block is a title, or the abstract of the pending title."""
        self._last_entry_open = False
        if self._title is None:
            self._title = block
            self._title_upvotes = self._upvotes[0] if self._upvotes else None
            self._upvotes = None
            return
        try:
            if isinstance(self._title_upvotes, FieldProblem):
                raise self._title_upvotes
            entry = Entry(
                position=self._next_position,
                location=f"line {self._title.line_number}",
                title=clean_text(self._title.text, "title"),
                abstract=clean_text(block.text, "abstract"),
                upvotes=self._title_upvotes,
            )
        except FieldProblem as problem:
            self._reject_title(f"paper rejected: {problem}")
            return
        self._take_position()
        self.entries.append(entry)
        self._title = None
        self._last_entry_open = True

    def _add_upvote_count(self, block: _Block) -> None:
        """An upvote count belongs to the title after it (possibly in the same block)."""
        if self._title is not None:
            self._reject_title("a title with no abstract after it (an upvote count follows)")
        self._drop_pending_upvotes()
        self._last_entry_open = False
        try:
            count: int | FieldProblem = count_of(block.lines[0], "upvote count")
        except FieldProblem as problem:
            count = problem
        self._upvotes = (count, block)
        title = block.rest(1)
        if title is not None:
            self._add_text(title)

    def _add_metadata(self, block: _Block) -> None:
        """Attach a metadata block to the paper just before it."""
        if self._title is not None:
            self._reject_title("a title with no abstract after it (a metadata block follows)")
            return
        self._drop_pending_upvotes()
        if not self._last_entry_open:
            self._reject(block.line_number, block.text, "a metadata block with no paper before it")
            return
        self._last_entry_open = False
        try:
            fields, leftover = self._read_metadata(block)
        except FieldProblem as problem:
            self._reject_last_entry(block, f"paper rejected: {problem} (metadata block at line {block.line_number})")
            return
        self.entries[-1] = replace(self.entries[-1], **fields)
        if leftover is not None:
            self.add(leftover)

    def _reject_last_entry(self, block: _Block, reason: str) -> None:
        """Turn the paper just read into a rejection (at its own position) because of its metadata."""
        entry = self.entries.pop()
        self.rejections.append(Rejection(position=entry.position, location=entry.location, reason=reason,
                                         excerpt=excerpt(f"{entry.title or ''} {block.text}")))

    def _read_metadata(self, block: _Block) -> tuple[dict[str, object], _Block | None]:
        """The fields a metadata block gives, and the lines after its date line (if any)."""
        fields: dict[str, object] = {}
        index = 0
        while index < len(block.lines) and block.lines[index].startswith(BULLET):
            label = block.lines[index][len(BULLET):].strip()
            author_count = _AUTHOR_COUNT.match(label)
            if author_count:
                fields["author_count"] = count_of(author_count.group(1), "author count")
            elif label:
                fields["organization"] = clean_text(label, "organization")
            index += 1
        if index >= len(block.lines) or block.lines[index] != MIDDLE_DOT:
            self._note(block.line_number + index - 1, block.text,
                       "a metadata block without its '·' line and date; paper kept without a date")
            return fields, block.rest(index)
        index += 1
        if index >= len(block.lines):
            self._note(block.line_number + index - 1, block.text,
                       "a metadata block ends after '·' with no date line; paper kept without a date")
            return fields, None
        published, comments = _read_date_line(block.lines[index], self.date_reference)
        if published is None:
            self._note(block.line_number + index, block.lines[index],
                       "unreadable date in a metadata block (expected like 'Apr 4, 2024' or 'Aug 5', "
                       "optionally followed by a comment count); paper kept without a date")
        else:
            fields["published_date"] = published
            fields["comments"] = comments
        return fields, block.rest(index + 1)

    def _drop_pending_upvotes(self) -> None:
        """An upvote count not followed by a title is reported and forgotten."""
        if self._upvotes is not None:
            _, block = self._upvotes
            self._note(block.line_number, block.lines[0], "an upvote count with no title after it")
            self._upvotes = None

    def _reject_title(self, reason: str) -> None:
        """Reject the pending title as a paper with no abstract."""
        assert self._title is not None
        self._reject(self._title.line_number, self._title.text, reason)
        self._title = None
        self._title_upvotes = None

    def _reject(self, line_number: int, text: str, reason: str) -> None:
        """Reject a would-be paper; it takes a position like an entry."""
        self.rejections.append(Rejection(
            position=self._take_position(), location=f"line {line_number}", reason=reason, excerpt=excerpt(text)))

    def _note(self, line_number: int, text: str, reason: str) -> None:
        """Report a problem that is not a paper of its own (``position=None``)."""
        self.rejections.append(Rejection(
            position=None, location=f"line {line_number}", reason=reason, excerpt=excerpt(text)))

    def _take_position(self) -> int:
        """The next paper's position on the page."""
        position = self._next_position
        self._next_position += 1
        return position
