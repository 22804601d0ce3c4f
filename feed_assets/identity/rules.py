"""The deduplication rules, in order. Each rule's name is the ``match_rule`` stored with an entry.

An entry is one listing of a paper in one dump. Its identity keys are its arXiv id (version
stripped), its title key and its abstract key (see ``identity_keys``). The paper an entry
belongs to is decided by the first rule that applies:

1. ``arxiv_id``: the entry carries an arXiv id; the paper is ``arxiv:<id>``.
2. ``title_matches_arxiv``: no id, but an entry with an arXiv id has the same title key;
   the paper is that arXiv paper (the smallest id if several share the title).
3. ``abstract_matches_arxiv``: no id and no title match, but an entry with an arXiv id has
   the same abstract key.
4. ``title``: a titled entry known by nothing else; the paper is ``title:<hash of title key>``.
5. ``abstract_matches_titled``: an entry without title or id (an abstract list) whose
   abstract key equals a titled entry's; the paper is that entry's paper (the smallest
   paper id if several).
6. ``abstract``: an abstract-only entry seen nowhere with a title; the paper is
   ``abstract:<abstract key>``.

The answer depends only on the set of entries, never on the order they arrived in, which is
what makes backfills in any order give the same ``papers``. ``identity.sql`` applies the
rules set-based inside the warehouse (the production form); the tests hold a plain-Python
reference of them (``feed_assets_tests/identity_reference.py``) to check it against.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from feed_assets.parsing.normalize import match_key

RULE_ARXIV_ID = "arxiv_id"
RULE_TITLE_MATCHES_ARXIV = "title_matches_arxiv"
RULE_ABSTRACT_MATCHES_ARXIV = "abstract_matches_arxiv"
RULE_TITLE = "title"
RULE_ABSTRACT_MATCHES_TITLED = "abstract_matches_titled"
RULE_ABSTRACT = "abstract"

RULES: tuple[tuple[str, str], ...] = (
    (RULE_ARXIV_ID, "same arXiv id (version ignored)"),
    (RULE_TITLE_MATCHES_ARXIV, "no id; same normalized title as a paper known by its arXiv id"),
    (RULE_ABSTRACT_MATCHES_ARXIV, "no id; same normalized abstract as a paper known by its arXiv id"),
    (RULE_TITLE, "no id; same normalized title"),
    (RULE_ABSTRACT_MATCHES_TITLED, "no title; same normalized abstract as a titled paper"),
    (RULE_ABSTRACT, "no title; same normalized abstract"),
)

ABSTRACT_KEY_CHARS = 32
PAPER_ID_HASH_CHARS = 16


@dataclass(frozen=True)
class IdentityKeys:
    """The three keys an entry can be recognised by; any of them may be None."""

    arxiv_id: str | None
    title_key: str | None
    abstract_key: str | None


def sha256_hex(text: str) -> str:
    """Hex sha256 of a UTF-8 string (DuckDB's ``sha256()`` gives the same)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity_keys(arxiv_id: str | None, title: str | None, abstract: str | None) -> IdentityKeys:
    """An entry's keys: the title's match form, and a hash of the abstract's match form."""
    abstract_form = match_key(abstract)
    return IdentityKeys(
        arxiv_id=arxiv_id,
        title_key=match_key(title),
        abstract_key=sha256_hex(abstract_form)[:ABSTRACT_KEY_CHARS] if abstract_form else None,
    )


def arxiv_paper_id(arxiv_id: str) -> str:
    """The paper id of a paper known by its arXiv id."""
    return f"arxiv:{arxiv_id}"


def title_paper_id(title_key: str) -> str:
    """The paper id of a paper known only by its title."""
    return f"title:{sha256_hex(title_key)[:PAPER_ID_HASH_CHARS]}"


def abstract_paper_id(abstract_key: str) -> str:
    """The paper id of a paper known only by its abstract."""
    return f"abstract:{abstract_key[:PAPER_ID_HASH_CHARS]}"
