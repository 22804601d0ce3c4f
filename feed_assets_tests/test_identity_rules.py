"""The deduplication rules as pure functions: each rule, its name, and order independence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from feed_assets.identity.rules import (
    RULE_ABSTRACT,
    RULE_ABSTRACT_MATCHES_ARXIV,
    RULE_ABSTRACT_MATCHES_TITLED,
    RULE_ARXIV_ID,
    RULE_TITLE,
    RULE_TITLE_MATCHES_ARXIV,
    RULES,
    identity_keys,
)
from feed_assets_tests.identity_reference import resolve

ABSTRACT = "We study   how models learn.\nThey learn well."


def test_rules_are_named_once_each_in_order():
    names = [name for name, _ in RULES]
    assert names == [RULE_ARXIV_ID, RULE_TITLE_MATCHES_ARXIV, RULE_ABSTRACT_MATCHES_ARXIV, RULE_TITLE,
                     RULE_ABSTRACT_MATCHES_TITLED, RULE_ABSTRACT]


def test_keys_ignore_case_accents_punctuation_and_tex():
    arxiv = identity_keys("2403.01234", r"Robust $\ell_\infty$ Bounds: Café?", ABSTRACT)
    page = identity_keys(None, "robust ell_infty bounds  cafe", "we study how models learn. they learn well.")
    assert arxiv.title_key == page.title_key == "robust ell infty bounds cafe"
    assert arxiv.abstract_key == page.abstract_key


def test_each_rule_applies_and_is_named():
    entries = [
        identity_keys("2403.00001", "Alpha", "alpha abstract"),          # 0 arxiv
        identity_keys(None, "ALPHA", "another text"),                     # 1 title -> arxiv
        identity_keys(None, "Alpha, revised", "Alpha abstract."),         # 2 abstract -> arxiv
        identity_keys(None, "Beta", "beta abstract"),                     # 3 title only
        identity_keys(None, "beta", None),                                # 4 same title
        identity_keys(None, None, "Beta abstract"),                       # 5 abstract -> titled
        identity_keys(None, None, "gamma abstract"),                      # 6 abstract only
        identity_keys(None, None, "Gamma   abstract!"),                   # 7 same abstract
    ]
    resolved = resolve(entries)
    assert [r.match_rule for r in resolved] == [
        RULE_ARXIV_ID, RULE_TITLE_MATCHES_ARXIV, RULE_ABSTRACT_MATCHES_ARXIV, RULE_TITLE, RULE_TITLE,
        RULE_ABSTRACT_MATCHES_TITLED, RULE_ABSTRACT, RULE_ABSTRACT]
    ids = [r.paper_id for r in resolved]
    assert ids[0] == ids[1] == ids[2] == "arxiv:2403.00001"
    assert ids[3] == ids[4] == ids[5] and ids[3].startswith("title:")
    assert ids[6] == ids[7] and ids[6].startswith("abstract:")
    assert len(set(ids)) == 3


def test_distinct_arxiv_ids_with_one_title_stay_distinct_and_title_only_takes_the_smallest():
    resolved = resolve([
        identity_keys("2403.00009", "Introduction", "one"),
        identity_keys("2403.00002", "Introduction", "two"),
        identity_keys(None, "Introduction", "three"),
    ])
    assert [r.paper_id for r in resolved] == ["arxiv:2403.00009", "arxiv:2403.00002", "arxiv:2403.00002"]


def test_title_only_entry_merges_with_arxiv_paper_whichever_comes_first():
    arxiv = identity_keys("2403.00001", "Alpha", "a")
    page = identity_keys(None, "Alpha", "a")
    assert resolve([arxiv, page])[1] == resolve([page, arxiv])[0]


_keys = st.builds(
    identity_keys,
    st.sampled_from([None, None, "2403.00001", "2403.00002"]),
    st.sampled_from([None, "Alpha", "alpha", "Beta"]),
    st.sampled_from([None, "one", "One.", "two"]),
).filter(lambda k: k.arxiv_id or k.title_key or k.abstract_key)


@given(st.lists(_keys, max_size=12), st.randoms())
def test_resolution_does_not_depend_on_order(entries, random):
    shuffled = list(range(len(entries)))
    random.shuffle(shuffled)
    forward = resolve(entries)
    backward = resolve([entries[i] for i in shuffled])
    assert [backward[shuffled.index(i)] for i in range(len(entries))] == forward
