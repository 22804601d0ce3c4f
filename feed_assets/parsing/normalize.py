"""Pure normalization of the text and identifiers found in feed dumps."""

from __future__ import annotations

import codecs
import datetime as dt
import re
import sys
import unicodedata
from collections.abc import Iterator
from functools import cache

_WHITESPACE = re.compile(r"\s+")
# ids are ASCII: re.ASCII keeps \d from matching full-width or other scripts' digits ("２５０４")
# and IGNORECASE from matching "ſ" or the Kelvin sign as letters
_ARXIV_NEW = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5})(?:v\d+)?$", re.IGNORECASE | re.ASCII)
_ARXIV_OLD = re.compile(r"^(?:arxiv:)?([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$", re.IGNORECASE | re.ASCII)
_ARXIV_URL = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(.+?)(?:\.pdf)?$", re.ASCII)
# terminal escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL", two-byte "ESC x", C1 CSI)
_ANSI_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?"
                            r"|\x9b[0-?]*[ -/]*[@-~]")
# control characters that are not whitespace (NUL, BEL, DEL, C1), bidi overrides and isolates,
# and stray byte-order marks: invisible, and able to rewrite what a terminal shows
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")

MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_MONTH_DAY = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* (\d{1,2})(?:, (\d{4}))?$")

EXCERPT_CHARS = 200
# the longest text a field may hold (after cleaning); a longer one rejects its item
MAX_TITLE_CHARS = 2_000
MAX_ABSTRACT_CHARS = 20_000
MAX_OTHER_CHARS = 1_000  # an author name, organization, keyword or category
# the warehouse keeps counts (upvotes, comments, author counts) as INTEGER (32-bit signed)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class FieldProblem(ValueError):
    """One field of an item cannot be kept as it is (not valid Unicode text, a number out of
    range...): the parser turns the whole item into a Rejection with this message as reason."""


def clean_text(value: object, field: str = "text") -> str | None:
    """Unicode NFC, every run of whitespace (arXiv's hard line breaks too) folded to one space.

    Control characters that are not whitespace (NUL, BEL, DEL, C1), terminal escape
    sequences (``ESC [31m``), bidi overrides and isolates (U+202E...) are removed: they are
    invisible, and a terminal showing the text would obey them.

    Returns None for missing or blank values, so "no title" is always None, never "".
    Raises FieldProblem (naming ``field``) for a JSON object, array or boolean given as text,
    for text holding a lone surrogate (a JSON ``"\\ud800"`` escape, or a byte that is not
    UTF-8), and for text longer than the field's limit (``max_chars_of``): such an item is
    rejected, not stored.
    """
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        kind = {dict: "an object", list: "an array", bool: "a boolean"}[type(value)]
        raise FieldProblem(f"{field} is JSON {kind}, not text")
    text = str(value)
    # " ".join(text.split()) folds whitespace as _WHITESPACE.sub(" ", text).strip() would (str.split,
    # str.strip and the re module's \s agree on what is whitespace), several times faster. Most
    # texts are printable ASCII once their line breaks are spaces (isprintable() is false for
    # every other ASCII whitespace character): those need no surrogate, control character or
    # escape sequence removed, are NFC already, and are split and joined only when they hold
    # a run of spaces or begin or end with one. Anything else takes the whole path
    folded = text.replace("\n", " ")
    if folded.isascii() and folded.isprintable():
        if "  " in folded or folded.startswith(" ") or folded.endswith(" "):
            folded = " ".join(folded.split())
    else:
        bad = _LONE_SURROGATE.search(text)
        if bad:
            raise FieldProblem(f"{field} holds {describe_surrogate(bad.group())}, not valid Unicode text")
        text = _CONTROL.sub("", _ANSI_SEQUENCE.sub("", text))
        folded = " ".join(unicodedata.normalize("NFC", text).split())
    text = folded
    limit = max_chars_of(field)
    if len(text) > limit:
        raise FieldProblem(f"{field} is {len(text):,} characters long (at most {limit:,})")
    return text or None


def max_chars_of(field: str) -> int:
    """The size limit of a field, by its name: titles, abstracts (``summary``), anything else."""
    kind = field.rsplit(".", 1)[-1]
    if kind == "title":
        return MAX_TITLE_CHARS
    if kind in ("abstract", "summary"):
        return MAX_ABSTRACT_CHARS
    return MAX_OTHER_CHARS


def describe_surrogate(char: str) -> str:
    """How to name a lone surrogate in a reason: decode_text keeps a byte that is not UTF-8
    as U+DC80..U+DCFF (surrogateescape); others come from JSON escapes such as ``"\\ud800"``."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02X}, which is not UTF-8 (or a lone surrogate \\u{code:04x})"
    return f"a lone surrogate \\u{code:04x}"


def match_key(text: str | None) -> str | None:
    """The comparison form of a title or abstract: accents, case, TeX and punctuation removed.

    Two listings of one paper differ in exactly these ways (``$\\ell_\\infty$`` on arXiv is
    ``ell_infty`` on a copied page), so identity compares this form.
    """
    if not text:
        return None
    if text.isascii():  # NFKD changes nothing and there is nothing to strip: bytes all the way
        key = " ".join(text.encode("ascii").translate(_ASCII_KEY_BYTES).decode("ascii").split())
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = _combining_marks().sub("", decomposed).casefold()
        key = " ".join(_ALNUM_RUN.findall(stripped))
    return key or None


# the match form of ASCII: letters lower-cased, every other byte that is not a digit a space
_ASCII_KEY_BYTES = bytes(
    byte + 32 if 0x41 <= byte <= 0x5A else byte if 0x30 <= byte <= 0x39 or 0x61 <= byte <= 0x7A else 0x20
    for byte in range(256))
_ALNUM_RUN = re.compile(r"[0-9a-z]+")


@cache
def _combining_marks() -> re.Pattern:
    """Every character ``unicodedata.combining`` calls combining (this Python's Unicode
    version), as one character class: removing them is one regex pass, not a loop in Python."""
    codes = [code for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code))]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]")


def normalize_arxiv_id(value: object) -> str | None:
    """An arXiv id without its version (``2403.01234v2`` -> ``2403.01234``), or None if not one.

    Accepts new-style and old-style (``math/0601001``) ids, an ``arXiv:`` prefix and abs/pdf URLs.
    """
    if value is None:
        return None
    text = str(value).strip()
    url = _ARXIV_URL.match(text)
    if url:
        text = url.group(1)
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        found = pattern.match(text)
        if found:
            return found.group(1)
    return None


def parse_iso_date(value: object) -> dt.date | None:
    """The date part of an ISO timestamp such as ``2025-05-30T17:59:01.000Z``; None if absent or bad."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_month_day(text: str) -> tuple[int, int, int | None] | None:
    """``"Mar 14"`` -> (3, 14, None); ``"Apr 4, 2024"`` -> (4, 4, 2024); anything else -> None."""
    found = _MONTH_DAY.match(text.strip())
    if not found:
        return None
    month = MONTHS[found.group(1).lower()]
    year = int(found.group(3)) if found.group(3) else None
    return month, int(found.group(2)), year


def complete_date(month: int, day: int, year: int | None, reference: dt.date) -> dt.date | None:
    """Make a full date from a month and day whose year the dump left out.

    A date without a year belongs to the reference (feed) date's year, unless that puts it
    more than about a month after the reference: a page seen on Jan 2 that says "Dec 30"
    means the December before.
    """
    try:
        if year is not None:
            return dt.date(year, month, day)
        candidate = dt.date(reference.year, month, day)
        if candidate > reference + dt.timedelta(days=31):
            candidate = dt.date(reference.year - 1, month, day)
        return candidate
    except ValueError:
        return None


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line excerpt of bad input, for people reading rejected_entries; control
    characters and lone surrogates are shown as escapes (see printable)."""
    flat = _WHITESPACE.sub(" ", text[: limit * 4]).strip()
    flat = _UNPRINTABLE.sub(_escape_unprintable, flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def printable(text: str) -> str:
    """``text`` with control characters, bidi controls and lone surrogates shown as escapes
    (``\\x1b``, ``\\u202e``), for messages a terminal may show (file names, excerpts)."""
    return _UNPRINTABLE.sub(_escape_unprintable, text)


def _escape_unprintable(found: re.Match) -> str:
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# UTF-8 with a few bad bytes is decoded (the bad bytes kept as lone surrogates, which reject the
# items holding them) when they touch at most this share of the non-blank lines, or of the bytes
BAD_LINES_TOLERATED = 0.1
BAD_BYTES_TOLERATED = 0.001
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def text_encoding(data: bytes) -> str:
    """The encoding a dump's byte-order mark declares: ``utf-32``, ``utf-16``, else ``utf-8``."""
    if data.startswith(_UTF32_BOMS):
        return "utf-32"
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    return "utf-8"


def decode_text(data: bytes) -> str:
    """The text of a dump: UTF-8 with a leading byte-order mark dropped, or UTF-16/32 when a
    byte-order mark says so (that is unambiguous).

    UTF-8 holding a few bytes that are not UTF-8 (a damaged copy) is still decoded: each bad
    byte is kept as a lone surrogate (``surrogateescape``), so that clean_text rejects just
    the entries that hold one. Raises ``UnicodeDecodeError`` (the first bad byte) when bad
    bytes are not rare (more than ``BAD_LINES_TOLERATED`` of the non-blank lines and more
    than ``BAD_BYTES_TOLERATED`` of the bytes): then the file is not UTF-8 at all, and the
    detector turns that into an ``UnknownFormatError`` naming the file and the byte offset.
    """
    encoding = text_encoding(data)
    if encoding != "utf-8":
        return data.decode(encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8-sig", errors="surrogateescape")
        lines = [line for line in split_lines(text) if line.strip()]
        bad_lines = sum(1 for line in lines if _LONE_SURROGATE.search(line))
        bad_bytes = len(_LONE_SURROGATE.findall(text))
        if bad_lines > BAD_LINES_TOLERATED * len(lines) and bad_bytes > BAD_BYTES_TOLERATED * len(data):
            raise error
        return text


def split_lines(text: str) -> list[str]:
    """The lines of a text dump, with ``\\r\\n`` line ends tolerated (line N is ``lines[N - 1]``)."""
    return text.replace("\r\n", "\n").split("\n")


def nonblank_lines(text: str) -> Iterator[str]:
    """The stripped non-blank lines of ``text``, in order, read lazily: what
    ``(line.strip() for line in split_lines(text) if line.strip())`` gives, without splitting
    the whole dump to look at its first lines."""
    start = 0
    while True:
        end = text.find("\n", start)
        stripped = (text[start:] if end < 0 else text[start:end]).strip()
        if stripped:
            yield stripped
        if end < 0:
            return
        start = end + 1


def optional_int(value: object, field: str = "number") -> int | None:
    """A JSON integer as an int; None for anything else (booleans, strings, floats, missing).

    Raises FieldProblem for an integer the warehouse cannot hold (outside 32 bits).
    """
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return bounded_int(value, field)


def bounded_int(value: int, field: str) -> int:
    """``value`` if a 32-bit INTEGER column holds it; FieldProblem naming ``field`` otherwise."""
    if not INT32_MIN <= value <= INT32_MAX:
        digits = str(value) if abs(value) < 10**30 else f"{str(value)[:20]}… ({len(str(abs(value)))} digits)"
        raise FieldProblem(f"{field} {digits} is out of range (at most {INT32_MAX:,})")
    return value


def count_of(digits: str, field: str) -> int:
    """A count written in decimal digits (``"12"``), bounded like bounded_int; FieldProblem if too large."""
    if len(digits) > 12:
        raise FieldProblem(f"{field} {digits[:20]}{'…' if len(digits) > 20 else ''} is out of range "
                           f"(at most {INT32_MAX:,})")
    return bounded_int(int(digits), field)


def clean_strings(values: object, field: str = "text") -> tuple[str, ...]:
    """The non-blank strings of a JSON array, each through clean_text, in order; () if not an array."""
    if not isinstance(values, list):
        return ()
    return tuple(text for text in (clean_text(v, field) for v in values if isinstance(v, str)) if text)
