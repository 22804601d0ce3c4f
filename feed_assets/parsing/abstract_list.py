"""Parser for an abstract list (docs/FEED_FORMATS.md section 3): one ``Abstract:<text>`` line per paper.

Such papers have no title, id or date: each entry holds only its cleaned abstract.
Blank lines are skipped. A non-blank line without the ``Abstract:`` prefix, or with
nothing after it, or whose text cannot be kept (see clean_text), is a Rejection. Positions count the non-blank lines from 0; locations
are ``"line N"`` (1-based, physical lines).
"""

from __future__ import annotations

from .model import Entry, ParseResult, Rejection
from .normalize import FieldProblem, clean_text, decode_text, excerpt, nonblank_lines, split_lines

FORMAT = "abstract_list"
PREFIX = "Abstract:"


def is_abstract_list(text: str) -> bool:
    """Whether the first non-blank line starts with the ``Abstract:`` prefix."""
    first_line = next(nonblank_lines(text), "")
    return first_line.startswith(PREFIX)


def parse_abstract_list(data: bytes) -> ParseResult:
    """Parse an abstract list into title-less entries and rejections (raises UnicodeDecodeError if not UTF-8)."""
    entries: list[Entry] = []
    rejections: list[Rejection] = []
    position = 0
    for line_number, line in enumerate(split_lines(decode_text(data)), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        location = f"line {line_number}"
        try:
            abstract = clean_text(stripped[len(PREFIX):], "abstract") if stripped.startswith(PREFIX) else None
            problem = None
        except FieldProblem as error:
            abstract, problem = None, f"line rejected: {error}"
        if abstract is not None:
            entries.append(Entry(position=position, location=location, title=None, abstract=abstract))
        else:
            reason = problem or ("an empty abstract after 'Abstract:'" if stripped.startswith(PREFIX)
                                 else "a line without the 'Abstract:' prefix")
            rejections.append(Rejection(position=position, location=location, reason=reason, excerpt=excerpt(stripped)))
        position += 1
    return ParseResult(format=FORMAT, entries=entries, rejections=rejections)
