"""The identity rules of ``identity.rules``, applied set-based inside the warehouse.

A day's write can change the paper of only the entries that share a key with the day's
old or new entries (the first hop), and of the abstract-only entries that share an
abstract with a titled entry of that first hop (the second hop). ``RESOLVE_STATEMENTS``
re-applies the rules to exactly those entries, looking up the rest of the history only by
their keys, so the cost of a day follows the day, not the history.

They run inside the caller's transaction and expect a temp table
``touched_keys(arxiv_id, title_key, abstract_key, paper_id)`` holding the keys of the rows
the write removed and inserted, and ``touched_days(feed_date)``.
They leave ``to_resolve`` (the entries re-resolved, with ``old_paper_id``) behind for the
caller to queue the papers and days to refresh.
"""

from __future__ import annotations

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

RESOLVE_STATEMENTS: tuple[str, ...] = (
    # first hop: every entry that shares a key with what the write removed or inserted
    # (a union of single-column lookups, so that each one is an index scan)
    """
    create or replace temp table to_resolve as
    select appearance_id, feed_date, arxiv_id, title_key, abstract_key, paper_id as old_paper_id
    from paper_appearances where feed_date in (select feed_date from touched_days)
    union
    select appearance_id, feed_date, arxiv_id, title_key, abstract_key, paper_id
    from paper_appearances where title_key in (select title_key from touched_keys)
    union
    select appearance_id, feed_date, arxiv_id, title_key, abstract_key, paper_id
    from paper_appearances where abstract_key in (select abstract_key from touched_keys)
    """,
    # second hop: abstract-only entries that follow a first-hop titled entry
    """
    insert into to_resolve
    select appearance_id, feed_date, arxiv_id, title_key, abstract_key, paper_id
    from paper_appearances
    where arxiv_id is null and title_key is null
      and abstract_key in (select abstract_key from to_resolve
                           where arxiv_id is not null or title_key is not null)
      and appearance_id not in (select appearance_id from to_resolve)
    """,
    # rules 1 to 4: entries with an arXiv id or a title
    f"""
    update paper_appearances set paper_id = resolved.paper_id, match_rule = resolved.match_rule
    from (
        with arxiv_by_title as (
            select title_key, min(arxiv_id) as arxiv_id from paper_appearances
            where arxiv_id is not null
              and title_key in (select title_key from to_resolve where title_key is not null)
            group by title_key
        ), arxiv_by_abstract as (
            select abstract_key, min(arxiv_id) as arxiv_id from paper_appearances
            where arxiv_id is not null
              and abstract_key in (select abstract_key from to_resolve where abstract_key is not null)
            group by abstract_key
        )
        select r.appearance_id,
            case when r.arxiv_id is not null then 'arxiv:' || r.arxiv_id
                 when t.arxiv_id is not null then 'arxiv:' || t.arxiv_id
                 when a.arxiv_id is not null then 'arxiv:' || a.arxiv_id
                 else 'title:' || left(sha256(r.title_key), {PAPER_ID_HASH_CHARS}) end as paper_id,
            case when r.arxiv_id is not null then '{RULE_ARXIV_ID}'
                 when t.arxiv_id is not null then '{RULE_TITLE_MATCHES_ARXIV}'
                 when a.arxiv_id is not null then '{RULE_ABSTRACT_MATCHES_ARXIV}'
                 else '{RULE_TITLE}' end as match_rule
        from to_resolve r
        left join arxiv_by_title t on t.title_key = r.title_key
        left join arxiv_by_abstract a on a.abstract_key = r.abstract_key
        where r.arxiv_id is not null or r.title_key is not null
    ) as resolved
    where paper_appearances.appearance_id = resolved.appearance_id
      and (paper_appearances.paper_id is distinct from resolved.paper_id
           or paper_appearances.match_rule is distinct from resolved.match_rule)
    """,
    # rules 5 and 6: abstract-only entries, after every titled entry has its paper
    f"""
    update paper_appearances set paper_id = resolved.paper_id, match_rule = resolved.match_rule
    from (
        with titled_by_abstract as (
            select abstract_key, min(paper_id) as paper_id from paper_appearances
            where (arxiv_id is not null or title_key is not null)
              and abstract_key in (select abstract_key from to_resolve
                                   where arxiv_id is null and title_key is null)
            group by abstract_key
        )
        select r.appearance_id,
            coalesce(m.paper_id, 'abstract:' || left(r.abstract_key, {PAPER_ID_HASH_CHARS})) as paper_id,
            case when m.paper_id is not null then '{RULE_ABSTRACT_MATCHES_TITLED}'
                 else '{RULE_ABSTRACT}' end as match_rule
        from to_resolve r
        left join titled_by_abstract m on m.abstract_key = r.abstract_key
        where r.arxiv_id is null and r.title_key is null
    ) as resolved
    where paper_appearances.appearance_id = resolved.appearance_id
      and (paper_appearances.paper_id is distinct from resolved.paper_id
           or paper_appearances.match_rule is distinct from resolved.match_rule)
    """,
)
