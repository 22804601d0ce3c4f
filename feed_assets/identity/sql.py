"""The identity rules of ``identity.rules``, applied set-based inside the warehouse: the one
production form of the rules (the tests hold a plain-Python reference to check it against).

A write that replaces a range of days can change the paper of only the entries without an
arXiv id that share a title or abstract key with what it removed or inserted (the first
hop), and of the
abstract-only entries that share an abstract with a titled entry of that first hop (the
second hop): titled entries depend only on arXiv entries, whose paper never changes, and
abstract-only entries depend only on titled ones. ``resolve_identities`` re-applies the
rules to exactly those entries with hash joins over their keys (no index needed), so a
day's cost follows the day, and a range is resolved once, whatever its length.
"""

from __future__ import annotations

import duckdb

from feed_assets.identity.rules import (
    ABSTRACT_KEY_CHARS,
    PAPER_ID_HASH_CHARS,
    RULE_ABSTRACT,
    RULE_ABSTRACT_MATCHES_ARXIV,
    RULE_ABSTRACT_MATCHES_TITLED,
    RULE_ARXIV_ID,
    RULE_TITLE,
    RULE_TITLE_MATCHES_ARXIV,
)

assert ABSTRACT_KEY_CHARS >= PAPER_ID_HASH_CHARS

_KEY_COLUMNS = "appearance_id, feed_date, arxiv_id, title_key, abstract_key"
_TITLED = "(arxiv_id is not null or title_key is not null)"

_STATEMENTS = (
    # the keys the write touches: those of the rows it removed and of the rows it brings
    """
    create or replace temp table identity_touched as
    select title_key, abstract_key from {removed}
    union select title_key, abstract_key from {incoming}
    """,
    # first hop in the history (what is left of paper_appearances), and every incoming row; an
    # entry with an arXiv id is always its arXiv paper, so only entries without one can change
    f"""
    create or replace temp table identity_candidates as
    select {_KEY_COLUMNS}, paper_id as old_paper_id, match_rule as old_match_rule, false as incoming
    from paper_appearances
    where arxiv_id is null
      and (title_key in (select title_key from identity_touched)
           or abstract_key in (select abstract_key from identity_touched))
    union all
    select {_KEY_COLUMNS}, null, null, true from {{incoming}}
    """,
    # second hop: abstract-only history rows that follow a first-hop titled entry
    f"""
    insert into identity_candidates
    select {_KEY_COLUMNS}, paper_id, match_rule, false from paper_appearances
    where arxiv_id is null and title_key is null
      and abstract_key in (select abstract_key from identity_candidates where {_TITLED})
      and appearance_id not in (select appearance_id from identity_candidates)
    """,
    # rules 1 to 4: entries with an arXiv id or a title
    f"""
    create or replace temp table identity_resolved as
    with arxiv_entries as (
        select arxiv_id, title_key, abstract_key from paper_appearances
        where arxiv_id is not null
          and (title_key in (select title_key from identity_candidates where arxiv_id is null)
               or abstract_key in (select abstract_key from identity_candidates where arxiv_id is null))
        union all
        select arxiv_id, title_key, abstract_key from {{incoming}} where arxiv_id is not null
    ), arxiv_by_title as (
        select title_key, min(arxiv_id) as arxiv_id from arxiv_entries where title_key is not null group by all
    ), arxiv_by_abstract as (
        select abstract_key, min(arxiv_id) as arxiv_id from arxiv_entries where abstract_key is not null group by all
    )
    select c.*,
        case when c.arxiv_id is not null then 'arxiv:' || c.arxiv_id
             when t.arxiv_id is not null then 'arxiv:' || t.arxiv_id
             when a.arxiv_id is not null then 'arxiv:' || a.arxiv_id
             else 'title:' || left(sha256(c.title_key), {PAPER_ID_HASH_CHARS}) end as paper_id,
        case when c.arxiv_id is not null then '{RULE_ARXIV_ID}'
             when t.arxiv_id is not null then '{RULE_TITLE_MATCHES_ARXIV}'
             when a.arxiv_id is not null then '{RULE_ABSTRACT_MATCHES_ARXIV}'
             else '{RULE_TITLE}' end as match_rule
    from identity_candidates c
    left join arxiv_by_title t on t.title_key = c.title_key
    left join arxiv_by_abstract a on a.abstract_key = c.abstract_key
    where c.arxiv_id is not null or c.title_key is not null
    """,
    # rules 5 and 6: abstract-only entries, after every titled entry has its paper
    f"""
    insert into identity_resolved
    with abstract_only as (
        select * from identity_candidates where not {_TITLED}
    ), titled as (
        select abstract_key, paper_id from identity_resolved
        where abstract_key in (select abstract_key from abstract_only)
        union all
        select abstract_key, paper_id from paper_appearances
        where {_TITLED} and abstract_key in (select abstract_key from abstract_only)
          and appearance_id not in (select appearance_id from identity_candidates)
    ), titled_by_abstract as (
        select abstract_key, min(paper_id) as paper_id from titled group by all
    )
    select c.*,
        coalesce(m.paper_id, 'abstract:' || left(c.abstract_key, {PAPER_ID_HASH_CHARS})) as paper_id,
        case when m.paper_id is not null then '{RULE_ABSTRACT_MATCHES_TITLED}' else '{RULE_ABSTRACT}' end
    from abstract_only c left join titled_by_abstract m on m.abstract_key = c.abstract_key
    """,
    # history rows whose paper or rule changed
    """
    update paper_appearances set paper_id = r.paper_id, match_rule = r.match_rule
    from identity_resolved r
    where not r.incoming and paper_appearances.appearance_id = r.appearance_id
      and (r.old_paper_id is distinct from r.paper_id or r.old_match_rule is distinct from r.match_rule)
    """,
)


_ARXIV_ONLY = f"""
    create or replace temp table identity_resolved as
    select c.*, 'arxiv:' || c.arxiv_id as paper_id, '{RULE_ARXIV_ID}' as match_rule from identity_candidates c
"""


def resolve_identities(con: duckdb.DuckDBPyConnection, incoming: str, removed: str) -> None:
    """Decide the paper of every row of ``incoming`` and re-decide the history rows it affects.

    Runs inside the caller's transaction, after the rows being replaced were deleted from
    ``paper_appearances`` and before ``incoming`` is inserted. ``incoming`` is a relation
    with the appearance columns (its ``paper_id`` is ignored), ``removed`` one with the
    ``title_key`` and ``abstract_key`` of the deleted rows. Updates the affected history rows
    in place and leaves temp table ``identity_resolved`` (``appearance_id``, ``feed_date``,
    ``incoming``, ``old_paper_id``, ``paper_id``, ``match_rule``) for the caller to insert
    the new rows and record the changes.
    """
    *candidate_steps, titled_step, abstract_only_step, update_step = _STATEMENTS
    for statement in candidate_steps:
        con.execute(statement.format(incoming=incoming, removed=removed))
    if con.execute("select count(*) from identity_candidates where arxiv_id is null").fetchone()[0]:
        con.execute(titled_step.format(incoming=incoming, removed=removed))
    else:  # every candidate is its arXiv paper (most days): nothing to look up in the history
        con.execute(_ARXIV_ONLY)
    # rules 5 and 6 look through the history for titled entries: only when there is an
    # abstract-only entry to resolve (most days have none)
    if con.execute(f"select count(*) from identity_candidates where not {_TITLED}").fetchone()[0]:
        con.execute(abstract_only_step.format(incoming=incoming, removed=removed))
    con.execute(update_step)
