"""The identity rules in plain Python, applied to a whole set of entries at once: the reference
the warehouse's set-based SQL (``feed_assets.identity.sql``) is tested against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from feed_assets.identity.rules import (
    RULE_ABSTRACT,
    RULE_ABSTRACT_MATCHES_ARXIV,
    RULE_ABSTRACT_MATCHES_TITLED,
    RULE_ARXIV_ID,
    RULE_TITLE,
    RULE_TITLE_MATCHES_ARXIV,
    IdentityKeys,
    abstract_paper_id,
    arxiv_paper_id,
    title_paper_id,
)


@dataclass(frozen=True)
class Resolution:
    """The paper an entry belongs to, and the rule that decided it."""

    paper_id: str
    match_rule: str


def resolve(entries: Sequence[IdentityKeys]) -> list[Resolution]:
    """Apply the rules to a complete set of entries; one Resolution per entry, in order.

    Entries with no key at all cannot be identified; parsers reject them before this point,
    so they raise here.
    """
    arxiv_by_title: dict[str, str] = {}
    arxiv_by_abstract: dict[str, str] = {}
    for keys in entries:
        if keys.arxiv_id:
            if keys.title_key:
                arxiv_by_title[keys.title_key] = min(keys.arxiv_id, arxiv_by_title.get(keys.title_key, keys.arxiv_id))
            if keys.abstract_key:
                arxiv_by_abstract[keys.abstract_key] = min(
                    keys.arxiv_id, arxiv_by_abstract.get(keys.abstract_key, keys.arxiv_id))

    resolutions: list[Resolution | None] = []
    paper_by_titled_abstract: dict[str, str] = {}
    for keys in entries:
        resolution = _resolve_titled(keys, arxiv_by_title, arxiv_by_abstract)
        resolutions.append(resolution)
        if resolution and keys.abstract_key:
            known = paper_by_titled_abstract.get(keys.abstract_key)
            paper_by_titled_abstract[keys.abstract_key] = min(resolution.paper_id, known or resolution.paper_id)

    final: list[Resolution] = []
    for keys, resolution in zip(entries, resolutions):
        if resolution is None:
            if not keys.abstract_key:
                raise ValueError(f"entry has no identity key: {keys}")
            titled = paper_by_titled_abstract.get(keys.abstract_key)
            resolution = (Resolution(titled, RULE_ABSTRACT_MATCHES_TITLED) if titled
                          else Resolution(abstract_paper_id(keys.abstract_key), RULE_ABSTRACT))
        final.append(resolution)
    return final


def _resolve_titled(keys: IdentityKeys, arxiv_by_title: dict[str, str],
                    arxiv_by_abstract: dict[str, str]) -> Resolution | None:
    """Rules 1 to 4, for entries with an id or a title; None for abstract-only entries."""
    if keys.arxiv_id:
        return Resolution(arxiv_paper_id(keys.arxiv_id), RULE_ARXIV_ID)
    if not keys.title_key:
        return None
    if keys.title_key in arxiv_by_title:
        return Resolution(arxiv_paper_id(arxiv_by_title[keys.title_key]), RULE_TITLE_MATCHES_ARXIV)
    if keys.abstract_key and keys.abstract_key in arxiv_by_abstract:
        return Resolution(arxiv_paper_id(arxiv_by_abstract[keys.abstract_key]), RULE_ABSTRACT_MATCHES_ARXIV)
    return Resolution(title_paper_id(keys.title_key), RULE_TITLE)
