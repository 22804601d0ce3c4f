"""The arXiv Atom parser: entries, the API's error feed, broken and unsafe XML."""

from __future__ import annotations

import datetime as dt

from feed_assets.parsing import detect_format, parse_dump
from feed_assets.parsing.arxiv_atom import parse_atom_feed, total_results

FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
  <opensearch:totalResults>3</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/abs/2403.01234v2</id>
    <published>2024-03-04T17:59:01Z</published>
    <title>Robust $\\ell_\\infty$ Bounds:
  A Study</title>
    <summary>  We study bounds.
 They hold.</summary>
    <author><name>Ada Lovelace</name></author><author><name>Alan Turing</name></author>
    <arxiv:primary_category term="stat.ML"/>
    <category term="cs.LG"/><category term="stat.ML"/>
  </entry>
  <entry>
    <id>http://arxiv.org/abs/math/0601001v1</id>
    <title>Old style</title><summary>An old paper.</summary>
  </entry>
  <entry><id>http://arxiv.org/abs/2403.09999v1</id></entry>
</feed>"""


def test_entries_are_read_and_normalized():
    result = parse_atom_feed(FEED)
    assert detect_format(FEED, "http://export.arxiv.org/api/query") == "arxiv_atom"
    first, second = result.entries
    assert (first.arxiv_id, first.title, first.abstract) == (
        "2403.01234", r"Robust $\ell_\infty$ Bounds: A Study", "We study bounds. They hold.")
    assert first.authors == ("Ada Lovelace", "Alan Turing") and first.author_count == 2
    assert first.categories == ("stat.ML", "cs.LG")
    assert first.published_date == dt.date(2024, 3, 4)
    assert (second.arxiv_id, second.position, second.location) == ("math/0601001", 1, "entry 2")
    (rejected,) = result.rejections
    assert (rejected.position, rejected.location, rejected.reason) == (
        2, "entry 3", "entry has neither a title nor a summary")
    assert total_results(FEED) == 3


def test_the_api_error_feed_is_a_rejection_with_its_message():
    error = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>
      <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234</id><title>Error</title>
      <summary>incorrect id format for 1234</summary></entry></feed>"""
    result = parse_dump(error, "q.xml", dt.date(2024, 3, 4))
    assert result.entries == []
    assert result.rejections[0].reason == "arXiv API error: incorrect id format for 1234"


def test_truncated_xml_is_one_rejection_naming_the_place():
    result = parse_atom_feed(FEED[:300])
    assert result.entries == []
    (rejected,) = result.rejections
    assert rejected.position is None and rejected.location.startswith("line ")
    assert "not well-formed" in rejected.reason


def test_entities_are_never_expanded():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>
    <feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&b;</title><summary>x</summary></entry></feed>"""
    external = b"""<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&x;</title><summary>x</summary></entry></feed>"""
    for document in (bomb, external):
        result = parse_atom_feed(document)
        assert result.entries == []
        assert "unsafe XML refused" in result.rejections[0].reason
