"""clean_text and match_key take shortcuts (printable ASCII, str.split for whitespace, bytes for
ASCII keys, one regex for combining marks): each must give exactly what the plain definition
gives, kept here as the reference."""

from __future__ import annotations

import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from feed_assets.parsing.normalize import (
    _ANSI_SEQUENCE, _CONTROL, _LONE_SURROGATE, FieldProblem, clean_text, match_key, max_chars_of)

_WHITESPACE = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def reference_clean_text(text: str, field: str) -> str | None:
    if _LONE_SURROGATE.search(text):
        raise FieldProblem("surrogate")
    text = _CONTROL.sub("", _ANSI_SEQUENCE.sub("", text))
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if len(text) > max_chars_of(field):
        raise FieldProblem("too long")
    return text or None


def reference_match_key(text: str | None) -> str | None:
    if not text:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NON_ALNUM.sub(" ", stripped).strip() or None


WHITESPACE = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]
TRICKY = (list("aAzZ09 .-_$\\{}()[") + WHITESPACE + [chr(code) for code in range(0x20)] + [
    "\x7f", "\x85", "\x9b", "\u061c", "\u200e", "\u202e", "\u2066", "\ufeff", "\ud800", "\udc80",
    "\u0301", "\u0308", "\u20d7", "\U0001d165", "\u0e48", "é", "ß", "ſ", "\u212a", "İ", "ﬁ", "\u212b",
    "Ω", "²", "①", "ǅ", "ﾊﾟ", "한", "\u1100\u1161", "\u2000", "\x1b[31m", "\x1b]0;x\x07"])
# printable ASCII words between spaces and line breaks, as most titles and abstracts are (the
# shortest path), with now and then another kind of whitespace
WRAPPED = ["Diffusion", "model", "LLM", "v2.1", "a", "(see", "[1])", ".", " ", "  ", "\n", " \n", "\r\n", "\t", "\x0b"]
texts = st.one_of(st.text(), st.lists(st.sampled_from(TRICKY), max_size=40).map("".join),
                  st.text(alphabet=st.characters(max_codepoint=0x7f)),
                  st.lists(st.sampled_from(WRAPPED), max_size=60).map("".join))


def outcome(function, *args):
    try:
        return function(*args)
    except FieldProblem:
        return FieldProblem


@settings(max_examples=2000, deadline=None)
@given(texts)
def test_clean_text_is_its_plain_definition(text):
    assert outcome(clean_text, text, "title") == outcome(reference_clean_text, text, "title")


@settings(max_examples=2000, deadline=None)
@given(texts)
def test_match_key_is_its_plain_definition(text):
    assert match_key(text) == reference_match_key(text)


def test_every_combining_mark_is_removed():
    marks = "".join(chr(code) for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code)))
    assert match_key("a" + marks + "b") == reference_match_key("a" + marks + "b") == "ab"
