"""The bundled sample inbox (``data/inbox``), generated deterministically.

Every title, abstract, author and organization in the sample inbox is invented here from
word lists and a seeded random generator; no text comes from a real feed. The layout of
each file follows docs/FEED_FORMATS.md sections 1-5:

- ``hf-daily-papers.json``: the Hugging Face daily papers API (format 4), one per day; an
  empty array ``[]`` on weekends, as the real API returns.
- ``arxiv-listing.jsonl``: an arXiv new-submissions listing (format 5), weekdays only.
- one text dump per weekday, rotating: ``papers-page.txt`` (format 1),
  ``papers-page-metadata.txt`` (format 2) and ``abstracts.txt`` (format 3).

On top of the random papers, fixed cases are planted for the identity and rejection
logic to find (same paper in two feeds of one day, a repeat on a later day, a paper seen
without an id before or after it is seen with one, an abstract-only twin, malformed
entries). ``generate_sample_inbox`` returns where each one was put.

The output is byte-for-byte reproducible: one ``random.Random(seed)`` drives everything,
dicts are built in a fixed order, JSON is dumped with fixed options, month names come
from a constant (not the locale) and no clock is read.

Regenerate the committed copy with::

    python -m feed_assets.sample_data --out data/inbox
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HF_FILE = "hf-daily-papers.json"
ARXIV_FILE = "arxiv-listing.jsonl"
PAGE_FILE = "papers-page.txt"
PAGE_METADATA_FILE = "papers-page-metadata.txt"
ABSTRACTS_FILE = "abstracts.txt"
FORMAT_FILES = (PAGE_FILE, PAGE_METADATA_FILE, ABSTRACTS_FILE, HF_FILE, ARXIV_FILE)
# The text dump of weekday number i (counting weekdays from the start) is TEXT_ROTATION[i % 3].
TEXT_ROTATION = (PAGE_FILE, PAGE_METADATA_FILE, ABSTRACTS_FILE)

# a topic that rises in the second week of the default sample, for the trend assets to find
RISING_TOPIC = "test-time scaling"
RISING_TOPIC_START = date(2024, 3, 8)
RISING_TOPIC_STEP = 0.12
RISING_TOPIC_PEAK = 0.6

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BULLET = "\u2022"
_MIDDLE_DOT = "\u00b7"

# --- word lists (all invented for this sample) ------------------------------------------

_NAME_HEADS = ("Tor", "Vex", "Lum", "Quil", "Mar", "Zen", "Kol", "Bri", "Fen", "Sol", "Pax",
               "Rho", "Nim", "Cal", "Dra", "Oru", "Tal", "Wim", "Yar", "Hex", "Sab", "Ulm",
               "Gro", "Ivo", "Pel", "Jor")
_NAME_TAILS = ("ix", "ora", "et", "on", "a", "ulus", "ex", "ine", "ar", "wick", "ly", "is", "eo")
_NAME_SUFFIXES = ("-2", "++", "-XL", "-Lite", "3D", "-R1")

_ADJECTIVES = ("sparse", "contrastive", "hierarchical", "causal", "latent", "adaptive",
               "multimodal", "self-supervised", "federated", "equivariant", "low-rank",
               "retrieval-augmented", "diffusion-based", "autoregressive", "token-efficient",
               "calibrated", "robust", "streaming", "compositional", "uncertainty-aware")
_NOUNS = ("attention layers", "tokenizers", "world models", "reward models", "mixtures of experts",
          "state space models", "point clouds", "code agents", "neural fields",
          "preference data", "memory modules", "vision encoders", "speech encoders",
          "graph networks", "dense retrievers", "value functions", "scene graphs")
_TASKS = ("video generation", "speech recognition", "tabular prediction", "instruction tuning",
          "preference optimization", "optical flow", "knowledge distillation",
          "weather forecasting", "program synthesis", "question answering",
          "semantic segmentation", "motion planning", "theorem proving", "table retrieval",
          "image editing", "molecule design", "document layout analysis", "route planning")
_PROPERTIES = ("stability", "sample complexity", "calibration", "expressivity",
               "robustness", "memorization", "length generalization")
_GERUNDS = ("Rethinking", "Compressing", "Taming", "Unifying", "Probing", "Pruning")
_TEX = ("ell_infty", "ell_1", "ell_2")

_PROBLEMS = ("labels are scarce and noisy", "the input distribution drifts over time",
             "inference must run on a single small device",
             "long contexts exceed the memory budget",
             "evaluation sets overlap with training data",
             "annotators disagree on a large share of examples",
             "feedback arrives only at the end of long episodes",
             "the number of classes grows without bound",
             "most inputs are far longer than anything seen in training")
_MECHANISMS = ("routes each token to a small set of specialised blocks",
               "replaces full attention with a learned {k}-level hierarchy",
               "distils a large teacher into a compact student with {k} times fewer parameters",
               "alternates between proposing and verifying candidate solutions",
               "caches intermediate states and reuses them across queries",
               "learns one shared latent space for text, images and audio",
               "casts {task} as constrained optimisation over a simplex",
               "reweights training examples by an estimate of their difficulty",
               "grows its vocabulary during training instead of fixing it up front")
_OBSERVATIONS = ("most of the signal lives in a low-dimensional subspace",
                 "errors concentrate on a few rare input patterns",
                 "intermediate layers already encode the answer",
                 "simple heuristics fail exactly where uncertainty is high",
                 "a handful of attention heads carry most of the routing decisions")
_OPENERS = ("{Task} is still hard to do reliably when {problem}.",
            "Recent {noun} perform well on {task}, yet {problem}.",
            "We revisit {task} in the setting where {problem}.",
            "Most pipelines for {task} assume clean inputs, but in practice {problem}.")
_METHODS = ("We propose {name}, {a_adj} approach that {mechanism}.",
            "In this paper we introduce {name}, which {mechanism}.",
            "Our method, {name}, {mechanism}.")
_DETAILS = ("The key observation is that {observation}.",
            "We show that the resulting estimator converges at rate O(1/sqrt n) under mild assumptions.",
            "We further prove a bound in ell_infty norm that is tight up to logarithmic factors.",
            "Unlike earlier work, it needs no extra labels and no changes to the base model.",
            "A small {noun_singular} trained on {k}K synthetic examples is enough to bootstrap the process.")
_RESULTS = ("Experiments on {k} benchmarks show gains of up to {p} points over strong baselines.",
            "{name} cuts inference cost by {k}x while matching the accuracy of much larger models.",
            "On a new benchmark of {k}K examples, it improves accuracy from {a}% to {b}%.",
            "Code, data and trained checkpoints will be released.")

_FIRST_NAMES = ("Mara", "Tobias", "Zoë", "Léa", "Søren", "Ayşe", "Mateo", "Oluwaseun", "Hiroko",
                "Priya", "Ngozi", "Tomás", "Jun", "Wei", "Ilse", "Rafael", "Anouk", "Dmitri",
                "Keiko", "Farid", "Lucía", "Emeka", "Ingrid", "Ravi", "Yusuf", "Chiara")
_LAST_NAMES = ("Okafor", "Lindqvist", "Marchetti", "Nakamura", "Delacroix", "Brennan", "Haddad",
               "Kowalczyk", "Ferreira", "Østergaard", "Quispe", "Iyer", "Tanaka", "Whitfield",
               "Achterberg", "Varga", "Sokolova", "Ndlovu", "Castellanos", "Moreau", "Halvorsen",
               "Bianchi", "Osei", "Kaplan", "Villanueva", "Strand")
_ORGANIZATIONS = ("Larchmont AI Lab", "Northwind Research", "Quillfeather Institute",
                  "Bluefen Labs", "Harrowgate Systems")
_CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "math.OC")
_SMALL_WORDS = frozenset(("a", "an", "and", "at", "for", "from", "in", "of", "on", "the", "to",
                          "with", "without"))

_SUMMARY_WRAP = textwrap.TextWrapper(width=79, break_long_words=False, break_on_hyphens=False)
_TITLE_WRAP = textwrap.TextWrapper(width=72, subsequent_indent="  ", break_long_words=False,
                                   break_on_hyphens=False)


@dataclass
class _Paper:
    """One invented paper; the renderers turn it into entries of the five formats."""

    arxiv_id: str
    title: str  # one line
    abstract: str  # one line, whitespace already folded
    authors: list[str]
    author_ids: list[str]  # HF author "_id"s, fixed so a repeat shows the same authors
    discussion_id: str
    published: date
    published_at: str  # the HF "paper.publishedAt" timestamp, fixed so a repeat shows the same one
    categories: list[str]
    comment: str | None
    organization: str | None
    github: str | None


def fold(text: str) -> str:
    """Fold every run of whitespace to one space, the way the feeds' twins compare equal."""
    return " ".join(text.split())


def _wrap_summary(text: str) -> str:
    """An abstract with arXiv's hard line breaks (``\\n`` every ~79 characters)."""
    return "\n".join(_SUMMARY_WRAP.wrap(text))


def _wrap_title(text: str) -> str:
    """A title with arXiv's continuation breaks (``\\n  ``) when it is longer than 72 characters."""
    return "\n".join(_TITLE_WRAP.wrap(text))


def _title_case(phrase: str) -> str:
    """Capitalize each word (and each part of a hyphenated word) except small words and TeX."""
    words = []
    for position, word in enumerate(phrase.split(" ")):
        if position and word in _SMALL_WORDS:
            words.append(word)
        elif "_" in word or "^" in word or word != word.lower():
            words.append(word)
        else:
            words.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(words)


def _user_name(full_name: str, number: int) -> str:
    """An ASCII user name made from a person's first name (``Léa Iyer`` -> ``lea35``)."""
    first = unicodedata.normalize("NFKD", full_name.split(" ")[0])
    return first.encode("ascii", "ignore").decode("ascii").lower() + str(number)


def _month_day(day: date, with_year: bool) -> str:
    """``Mar 4`` or ``Mar 4, 2023``, independent of the locale."""
    text = f"{_MONTHS[day.month - 1]} {day.day}"
    return f"{text}, {day.year}" if with_year else text


def _previous_weekday(day: date) -> date:
    """The weekday before ``day`` (an arXiv listing shows the previous weekday's submissions)."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class _Inventor:
    """Invents unique names, titles, abstracts, ids and papers from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._names: set[str] = set()
        self._titles: set[str] = set()
        self._abstracts: set[str] = set()
        self._ids: set[str] = set()

    def hex_id(self) -> str:
        """A 24-hex-digit object id like the HF API's ``_id`` fields."""
        return "65e" + format(self.rng.getrandbits(84), "021x")

    def method_name(self) -> str:
        """A new method name such as ``Vexora`` or ``QUILET-2``."""
        rng = self.rng
        while True:
            name = rng.choice(_NAME_HEADS) + rng.choice(_NAME_TAILS)
            if rng.random() < 0.15:
                name = name.upper()
            if rng.random() < 0.25:
                name += rng.choice(_NAME_SUFFIXES)
            if name not in self._names:
                self._names.add(name)
                return name

    def title(self, name: str, min_length: int = 0) -> str:
        """A new title using ``name``; at least ``min_length`` characters long."""
        rng = self.rng
        for _ in range(1000):
            adj, adj2 = rng.sample(_ADJECTIVES, 2)
            noun, noun2 = rng.sample(_NOUNS, 2)
            task = rng.choice(_TASKS)
            templates = (
                f"{name}: {adj} {noun} for {task}",
                f"{name}: Towards {adj} {task} at Scale",
                f"Do {noun} Really Need {adj} {noun2}?",
                f"On the {rng.choice(_PROPERTIES)} of {adj} {noun}",
                f"{adj} {task} with {rng.choice(_TEX)} Guarantees",
                f"Scaling {noun} to {rng.choice((7, 13, 34, 70))}B Parameters: Lessons from {name}",
                f"{name}: A {rng.randint(2, 5)}-Stage Pipeline for {task} (Technical Report)",
                f"When Do {adj} {noun} Help {task}? An Empirical Study with {name}",
                f"Learning {noun} in R^d from {rng.choice((16, 64, 256, 1000))} Examples",
                f"{rng.choice(_GERUNDS)} the {noun}: {adj} {noun2} for {task}",
                f"Beyond {noun}: {name} for {adj} {task} and {adj2} {noun2}",
            )
            title = _title_case(rng.choice(templates))
            if len(title) >= min_length and title not in self._titles:
                self._titles.add(title)
                return title
        raise RuntimeError("could not invent a new title")  # pragma: no cover

    def abstract(self, name: str) -> str:
        """A new abstract of 2 to 5 sentences that mentions ``name``."""
        rng = self.rng
        while True:
            task = rng.choice(_TASKS)
            slots = {
                "name": name,
                "task": task,
                "Task": task[:1].upper() + task[1:],
                "noun": rng.choice(_NOUNS),
                "noun_singular": rng.choice(("proposal model", "critic", "adapter", "probe")),
                "adj": rng.choice(_ADJECTIVES),
                "a_adj": "",
                "problem": rng.choice(_PROBLEMS),
                "observation": rng.choice(_OBSERVATIONS),
                "k": rng.randint(2, 12),
                "p": rng.randint(2, 15),
                "a": rng.randint(40, 70),
                "b": rng.randint(71, 95),
            }
            slots["a_adj"] = ("an " if slots["adj"][0] in "aeiou" else "a ") + slots["adj"]
            slots["mechanism"] = rng.choice(_MECHANISMS).format(**slots)
            sentences = [rng.choice(_OPENERS), rng.choice(_METHODS)]
            extra = rng.randint(0, 3)
            sentences += rng.sample(_DETAILS, min(extra, 2))
            if extra >= 2 or rng.random() < 0.5:
                sentences.append(rng.choice(_RESULTS))
            text = " ".join(sentence.format(**slots) for sentence in sentences[:5])
            if text not in self._abstracts:
                self._abstracts.add(text)
                return text

    def arxiv_id(self, submitted: date) -> str:
        """A new arXiv id for a paper submitted on ``submitted`` (``2403.0NNNN``, ``2402.1NNNN``)."""
        base = 10000 if submitted.month == 2 else 0
        while True:
            number = base + submitted.day * 300 + self.rng.randrange(300)
            arxiv_id = f"{submitted:%y%m}.{number:05d}"
            if arxiv_id not in self._ids:
                self._ids.add(arxiv_id)
                return arxiv_id

    def paper(self, published: date, min_title_length: int = 0) -> _Paper:
        """A new paper published on ``published``."""
        rng = self.rng
        name = self.method_name()
        title = self.title(name, min_title_length)
        abstract = self.abstract(name) + _rising_topic_sentence(name, published)
        authors = []
        for _ in range(rng.choice((1, 2, 3, 3, 4, 4, 5, 6))):
            while True:
                author = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
                if author not in authors:
                    authors.append(author)
                    break
        categories = [rng.choice(_CATEGORIES)]
        for _ in range(rng.randint(0, 2)):
            extra = rng.choice(_CATEGORIES)
            if extra not in categories:
                categories.append(extra)
        comment_kind = rng.random()
        if comment_kind < 0.5:
            comment = None
        elif comment_kind < 0.8:
            comment = f"{rng.randint(8, 30)} pages"
        else:
            comment = f"{rng.randint(8, 30)} pages, {rng.randint(3, 12)} figures"
        organization = rng.choice(_ORGANIZATIONS) if rng.random() < 0.25 else None
        slug = name.lower().replace("+", "p").replace("-", "")
        github = f"https://github.com/example-lab/{slug}" if rng.random() < 0.3 else None
        return _Paper(
            arxiv_id=self.arxiv_id(published),
            title=title,
            abstract=abstract,
            authors=authors,
            author_ids=[self.hex_id() for _ in authors],
            discussion_id=self.hex_id(),
            published=published,
            published_at=_timestamp(published, rng, millis=False),
            categories=categories,
            comment=comment,
            organization=organization,
            github=github,
        )


def _rising_topic_sentence(name: str, published: date) -> str:
    """From RISING_TOPIC_START on, a growing share of papers also study the rising topic, so that
    the sample days show a trend. Drawn from a generator of its own (seeded by the method name),
    which leaves every other invented paper as it was."""
    days_in = (published - RISING_TOPIC_START).days
    if days_in < 0:
        return ""
    share = min(RISING_TOPIC_PEAK, RISING_TOPIC_STEP * (days_in + 1))
    rng = random.Random(f"rising:{name}")
    if rng.random() >= share:
        return ""
    return " " + rng.choice((
        f"We further show that {RISING_TOPIC} makes {name} more robust.",
        f"Finally, we analyse {RISING_TOPIC} for {name}.",
        f"Our analysis of {RISING_TOPIC} explains when {name} helps.",
    ))


# --- renderers ----------------------------------------------------------------------------


def _timestamp(day: date, rng: random.Random, millis: bool) -> str:
    """An ISO timestamp on ``day`` as the HF API writes it (``2024-03-04T03:18:21.654Z``)."""
    fraction = rng.randrange(1000) if millis else 0
    return (f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
            f"{rng.randrange(60):02d}.{fraction:03d}Z")


def _hf_item(inventor: _Inventor, paper: _Paper, feed_day: date, upvotes: int) -> dict:
    """One item of the HF daily papers array (format 4), with its nested ``paper``."""
    rng = inventor.rng
    title = _wrap_title(paper.title)
    summary = _wrap_summary(paper.abstract)
    inner: dict = {
        "id": paper.arxiv_id,
        "authors": [{"_id": author_id, "name": name, "hidden": False}
                    for author_id, name in zip(paper.author_ids, paper.authors)],
        "publishedAt": paper.published_at,
        "title": title,
        "summary": summary,
        "upvotes": upvotes,
        "discussionId": paper.discussion_id,
    }
    if paper.github:
        inner["githubRepo"] = paper.github
    if paper.organization:
        inner["organization"] = {"name": paper.organization.lower().replace(" ", "-"),
                                 "fullname": paper.organization}
    submitter = rng.choice(paper.authors) if rng.random() < 0.5 else (
        f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}")
    return {
        "paper": inner,
        "publishedAt": _timestamp(feed_day, rng, millis=True),
        "title": title,
        "summary": summary,
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{paper.arxiv_id}.png",
        "numComments": rng.randint(0, 6),
        "submittedBy": {
            "_id": inventor.hex_id(),
            "avatarUrl": f"/avatars/{rng.getrandbits(128):032x}.svg",
            "fullname": submitter,
            "name": _user_name(submitter, rng.randint(1, 99)),
            "type": "user",
            "isPro": False,
        },
        "isAuthorParticipating": submitter in paper.authors,
    }


def _arxiv_record(paper: _Paper, version: str = "", wrap_title: bool = False) -> dict:
    """One line of an arXiv listing (format 5); ``version`` like ``"v2"`` is appended to the id."""
    arxiv_id = paper.arxiv_id + version
    return {
        "id": arxiv_id,
        "pdf": f"https://arxiv.org/pdf/{arxiv_id}",
        "abs": f"https://arxiv.org/abs/{arxiv_id}",
        "authors": list(paper.authors),
        "title": _wrap_title(paper.title) if wrap_title else paper.title,
        "categories": list(paper.categories),
        "comment": paper.comment,
        "summary": _wrap_summary(paper.abstract),
    }


def _page_header(day: date, daily_papers_line: bool) -> list[str]:
    """The header blocks of a copied HF papers page, ending with the page's date."""
    blocks = ["new", "Get trending papers in your email inbox!", "Subscribe"]
    if daily_papers_line:
        blocks.append("Daily Papers")
    blocks += ["byAK and the research community", _month_day(day, with_year=False)]
    return blocks


def _dump_json(value: object) -> str:
    """JSON as the HF API files are saved: 2-space indent, UTF-8 kept, no trailing newline."""
    return json.dumps(value, indent=2, ensure_ascii=False)


# --- the plan -------------------------------------------------------------------------------


@dataclass
class _Plant:
    """A paper (or bad entry) put into a given weekday's file, with how to render it.

    ``appearance`` is the summary's record of where it went; rendering adds its position
    (``index`` in a JSON array from 0, ``line`` in a JSONL or abstract list from 1,
    ``entry`` on a papers page from 1).
    """

    paper: _Paper
    options: dict
    appearance: dict


class _Plan:
    """The planted cases, keyed by (weekday number, file name), and the summary that lists them."""

    def __init__(self, weekdays: list[date]) -> None:
        self.weekdays = weekdays
        self.plants: dict[tuple[int, str], list[_Plant]] = {}
        self.duplicates: list[dict] = []
        self.malformed: list[dict] = []

    def put(self, weekday: int, file_name: str, paper: _Paper, **options: object) -> dict:
        """Plant ``paper`` in ``file_name`` of weekday number ``weekday``; returns its appearance."""
        appearance: dict = {"date": self.weekdays[weekday].isoformat(), "file": file_name}
        self.plants.setdefault((weekday, file_name), []).append(_Plant(paper, dict(options), appearance))
        return appearance

    def at(self, weekday: int, file_name: str) -> list[_Plant]:
        return self.plants.get((weekday, file_name), [])

    def duplicate(self, case: str, paper: _Paper, appearances: list[dict], with_id: bool = True) -> None:
        """Record a planted duplicate (a paper shown in more than one entry)."""
        record: dict = {"case": case}
        if with_id:
            record["arxiv_id"] = paper.arxiv_id
            record["title"] = paper.title
        else:
            record["abstract_starts"] = paper.abstract[:60]
        record["appearances"] = appearances
        self.duplicates.append(record)

    def bad(self, case: str, weekday: int, file_name: str, paper: _Paper, **options: object) -> None:
        """Plant a malformed entry; it is listed once its position is known."""
        appearance = self.put(weekday, file_name, paper, **options)
        where = dict(appearance)
        appearance.clear()
        appearance.update(case=case, **where)  # "case" first, and still the dict the renderer fills in
        self.malformed.append(appearance)


def _make_plan(inventor: _Inventor, weekdays: list[date]) -> _Plan:
    """Invent the planted papers and decide where each goes (skipping cases the range can't hold).

    Weekday numbers count weekdays from the start; with the defaults 0 is 2024-03-01 and
    10 is 2024-03-15. The text dump of weekday i is ``TEXT_ROTATION[i % 3]``.
    """
    plan = _Plan(weekdays)
    have = len(weekdays)

    def text_file(index: int) -> str:
        return TEXT_ROTATION[index % len(TEXT_ROTATION)]

    def paper_before(index: int, min_title_length: int = 0) -> _Paper:
        return inventor.paper(_previous_weekday(weekdays[index]), min_title_length)

    if have > 6:
        # (a) one paper in the HF JSON and the arXiv listing of one day; the HF title carries
        # a "\n  " break, the arXiv title is one line. (b) it comes back to HF on a later day
        # with other upvotes.
        paper = paper_before(1, min_title_length=80)
        plan.duplicate("same_day_hf_and_arxiv_then_repeat", paper, [
            plan.put(1, HF_FILE, paper, upvotes=23),
            plan.put(1, ARXIV_FILE, paper),
            plan.put(6, HF_FILE, paper, upvotes=61),
        ])
    if have > 7:
        # (c) page first: title and abstract on a papers page, the id only later on arXiv.
        assert text_file(3) == PAGE_FILE
        paper = paper_before(3)
        plan.duplicate("papers_page_first_then_arxiv", paper, [
            plan.put(3, PAGE_FILE, paper),
            plan.put(7, ARXIV_FILE, paper),
        ])
    if have > 4:
        # (c) id first: HF JSON, then the metadata page (title, abstract, no id).
        assert text_file(4) == PAGE_METADATA_FILE
        paper = paper_before(2)
        plan.duplicate("hf_first_then_papers_page_metadata", paper, [
            plan.put(2, HF_FILE, paper, upvotes=17),
            plan.put(4, PAGE_METADATA_FILE, paper),
        ])
    if have > 5:
        # (d) an abstract-list line whose abstract is an arXiv paper's, up to whitespace.
        assert text_file(5) == ABSTRACTS_FILE
        paper = paper_before(1)
        plan.duplicate("abstract_list_twin_of_arxiv", paper, [
            plan.put(1, ARXIV_FILE, paper),
            plan.put(5, ABSTRACTS_FILE, paper, double_space=True),
        ])
    if have > 2:
        # (d) an abstract-list paper seen nowhere else (kept, with no title).
        assert text_file(2) == ABSTRACTS_FILE
        paper = paper_before(2)
        plan.duplicate("abstract_list_only", paper, [plan.put(2, ABSTRACTS_FILE, paper, position=0)],
                       with_id=False)
    if have > 4:
        # (f) an arXiv id with a version suffix, the same paper on HF without it.
        paper = paper_before(3)
        plan.duplicate("arxiv_versioned_id_then_hf", paper, [
            plan.put(3, ARXIV_FILE, paper, version="v2"),
            plan.put(4, HF_FILE, paper, upvotes=9),
        ])
    # (e) malformed entries.
    if have > 8:
        assert text_file(8) == ABSTRACTS_FILE
        for _ in range(2):
            plan.bad("hf_item_is_python_repr_string", 8, HF_FILE, paper_before(8), repr=True)
        plan.bad("abstract_line_without_prefix", 8, ABSTRACTS_FILE, paper_before(8), no_prefix=True)
    if have > 9:
        plan.bad("hf_item_without_title_or_summary", 9, HF_FILE, paper_before(9), no_text=True)
    if have > 6:
        plan.bad("arxiv_line_is_broken_json", 6, ARXIV_FILE, paper_before(6), broken=True, position=2)
    return plan


def _insert_plants(rng: random.Random, entries: list, plants: list[_Plant]) -> list:
    """Put the planted entries among the random ones at seeded (or fixed) positions."""
    for plant in plants:
        position = plant.options.get("position")
        if position is None:
            position = rng.randrange(len(entries) + 1)
        entries.insert(position, plant)
    return entries


# --- one day's files ---------------------------------------------------------------------------


def _hf_file(inventor: _Inventor, plan: _Plan, index: int, day: date) -> tuple[str, int]:
    rng = inventor.rng
    plants = plan.at(index, HF_FILE)
    count = max(0, rng.randint(4, 8) - len(plants))
    entries: list = [inventor.paper(day - timedelta(days=rng.randint(1, 3))) for _ in range(count)]
    entries = _insert_plants(rng, entries, plants)
    items: list = []
    for position, entry in enumerate(entries):
        if isinstance(entry, _Plant):
            upvotes = entry.options.get("upvotes", rng.randint(2, 40))
            item = _hf_item(inventor, entry.paper, day, upvotes)
            entry.appearance.update(index=position, arxiv_id=entry.paper.arxiv_id)
            if entry.options.get("repr"):
                items.append(repr(item))
                continue
            if entry.options.get("no_text"):
                for holder in (item["paper"], item):
                    del holder["title"], holder["summary"]
            items.append(item)
        else:
            items.append(_hf_item(inventor, entry, day, rng.randint(2, 120)))
    return _dump_json(items), len(items)


def _arxiv_file(inventor: _Inventor, plan: _Plan, index: int, day: date) -> tuple[str, int]:
    rng = inventor.rng
    plants = plan.at(index, ARXIV_FILE)
    submitted = _previous_weekday(day)
    count = max(0, rng.randint(5, 10) - len(plants))
    entries: list = [inventor.paper(submitted) for _ in range(count)]
    entries = _insert_plants(rng, entries, plants)
    lines = []
    for line_number, entry in enumerate(entries, start=1):
        if isinstance(entry, _Plant):
            record = _arxiv_record(entry.paper, version=entry.options.get("version", ""))
            line = json.dumps(record, ensure_ascii=False)
            entry.appearance.update(line=line_number, id=record["id"])
            if entry.options.get("broken"):
                line = line[: len(line) // 2]
            lines.append(line)
        else:
            version = "v2" if rng.random() < 0.15 else ""
            wrap_title = len(entry.title) > 72 and rng.random() < 0.5
            lines.append(json.dumps(_arxiv_record(entry, version, wrap_title), ensure_ascii=False))
    return "".join(line + "\n" for line in lines), len(lines)


def _older_paper_date(rng: random.Random, day: date) -> date:
    """A publication date for a trending paper: earlier this year, or a past year."""
    if rng.random() < 0.5:
        start = date(day.year, 1, 1)
        return start + timedelta(days=rng.randrange(max(1, (day - start).days)))
    year = rng.randint(day.year - 6, day.year - 1)
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _page_file(inventor: _Inventor, plan: _Plan, index: int, day: date) -> tuple[str, int]:
    rng = inventor.rng
    plants = plan.at(index, PAGE_FILE)
    count = max(0, rng.randint(5, 8) - len(plants))
    entries: list = [inventor.paper(_older_paper_date(rng, day)) for _ in range(count)]
    entries = _insert_plants(rng, entries, plants)
    blocks = _page_header(day, daily_papers_line=rng.random() < 0.5)
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, _Plant):
            entry.appearance["entry"] = number
            entry = entry.paper
        blocks += [entry.title, entry.abstract]
    return "\n\n".join(blocks), len(entries)


def _page_metadata_file(inventor: _Inventor, plan: _Plan, index: int, day: date) -> tuple[str, int]:
    rng = inventor.rng
    plants = plan.at(index, PAGE_METADATA_FILE)
    count = max(0, rng.randint(5, 7) - len(plants))
    entries: list = [inventor.paper(_older_paper_date(rng, day)) for _ in range(count)]
    entries = _insert_plants(rng, entries, plants)
    papers = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, _Plant):
            entry.appearance["entry"] = number
            entry = entry.paper
        papers.append(entry)
    # Every metadata page shows each variant at least once: an entry without a metadata
    # block, an organization in place of "N authors", a date line with a trailing count,
    # and an upvote count on its own line before a title.
    no_metadata, organization, counted, upvoted = rng.sample(range(len(papers)), 4)
    blocks = _page_header(day, daily_papers_line=True)
    for position, paper in enumerate(papers):
        if position == upvoted:
            blocks.append(str(rng.randint(5, 150)))
        blocks += [paper.title, paper.abstract]
        if position == no_metadata:
            continue
        if position == organization:
            who = paper.organization or rng.choice(_ORGANIZATIONS)
        else:
            who = f"{len(paper.authors)} authors"
        date_line = _month_day(paper.published, with_year=paper.published.year != day.year)
        if position == counted or rng.random() < 0.2:
            date_line += f" {rng.randint(2, 12)}"
        blocks.append(f"  {_BULLET} {who}\n{_MIDDLE_DOT}\n{date_line}")
    return "\n\n".join(blocks), len(papers)


def _abstracts_file(inventor: _Inventor, plan: _Plan, index: int, day: date) -> tuple[str, int]:
    rng = inventor.rng
    plants = plan.at(index, ABSTRACTS_FILE)
    count = max(0, rng.randint(4, 7) - len(plants))
    entries: list = [inventor.paper(_older_paper_date(rng, day)) for _ in range(count)]
    entries = _insert_plants(rng, entries, plants)
    lines = []
    for line_number, entry in enumerate(entries, start=1):
        if not isinstance(entry, _Plant):
            lines.append("Abstract:" + entry.abstract)
            continue
        abstract = entry.paper.abstract
        if entry.options.get("double_space"):
            # Same abstract up to whitespace: two spaces after its first sentence.
            abstract = abstract.replace(". ", ".  ", 1)
        entry.appearance["line"] = line_number
        if entry.options.get("no_prefix"):
            lines.append(abstract)
        else:
            lines.append("Abstract:" + abstract)
    return "\n".join(lines), len(lines)


_TEXT_RENDERERS = {PAGE_FILE: _page_file, PAGE_METADATA_FILE: _page_metadata_file,
                   ABSTRACTS_FILE: _abstracts_file}


def build_sample_inbox(start: date = date(2024, 3, 1), days: int = 16,
                       seed: int = 7) -> tuple[dict[str, dict[str, bytes]], dict]:
    """The inbox in memory: ``{"YYYY-MM-DD": {file name: bytes}}`` and its summary."""
    if days < 1:
        raise ValueError("days must be at least 1")
    inventor = _Inventor(random.Random(seed))
    dates = [start + timedelta(days=offset) for offset in range(days)]
    weekdays = [day for day in dates if day.weekday() < 5]
    plan = _make_plan(inventor, weekdays)
    folders: dict[str, dict[str, bytes]] = {}
    items_by_format = {name: 0 for name in FORMAT_FILES}
    for day in dates:
        files: dict[str, str] = {}
        if day.weekday() >= 5:
            files[HF_FILE] = _dump_json([])
        else:
            index = weekdays.index(day)
            text_name = TEXT_ROTATION[index % len(TEXT_ROTATION)]
            for name, render in ((HF_FILE, _hf_file), (ARXIV_FILE, _arxiv_file),
                                 (text_name, _TEXT_RENDERERS[text_name])):
                files[name], count = render(inventor, plan, index, day)
                items_by_format[name] += count
        folders[day.isoformat()] = {name: text.encode("utf-8") for name, text in sorted(files.items())}
    files_by_format = {name: sum(name in files for files in folders.values()) for name in FORMAT_FILES}
    summary = {
        "start": dates[0].isoformat(),
        "end": dates[-1].isoformat(),
        "seed": seed,
        "days": len(dates),
        "weekdays": len(weekdays),
        "files": sum(files_by_format.values()),
        "bytes": sum(len(data) for files in folders.values() for data in files.values()),
        "items": sum(items_by_format.values()),
        "files_by_format": files_by_format,
        "items_by_format": items_by_format,
        "planted_duplicates": plan.duplicates,
        "planted_malformed": plan.malformed,
    }
    return folders, summary


# the checks that warn on the bundled sample, and why: it plants these cases on purpose
EXPECTED_SAMPLE_WARNINGS = {
    "no_rejected_entries": "the sample plants 5 malformed entries, to show they are kept aside with a reason",
    "hf_items_have_the_known_fields": "the sample plants two HF items written as Python repr strings, "
                                      "which carry none of the known fields",
}


def is_bundled_sample(inbox_dir: Path) -> bool:
    """Whether ``inbox_dir`` holds exactly the bundled sample (``make samples``' output)."""
    folders, _ = build_sample_inbox(date(2024, 3, 1), 16, 7)
    inbox_dir = Path(inbox_dir)
    if not inbox_dir.is_dir() or sorted(p.name for p in inbox_dir.iterdir()) != sorted(folders):
        return False
    for day, files in folders.items():
        folder = inbox_dir / day
        if sorted(p.name for p in folder.iterdir()) != sorted(files):
            return False
        if any((folder / name).read_bytes() != data for name, data in files.items()):
            return False
    return True


def generate_sample_inbox(inbox_dir: Path, start: date = date(2024, 3, 1), days: int = 16,
                          seed: int = 7) -> dict:
    """Write the sample inbox under ``inbox_dir/YYYY-MM-DD/`` and return its summary.

    Each day folder the generator writes is removed first, so a rerun leaves exactly the
    generated files in it; other folders under ``inbox_dir`` are left alone. The same
    arguments always give the same bytes. The summary counts days, files and items (an
    item is one array element, JSONL line, page entry or abstract line, bad ones included)
    and says where each planted duplicate and malformed entry is.
    """
    folders, summary = build_sample_inbox(start, days, seed)
    inbox_dir = Path(inbox_dir)
    for day, files in folders.items():
        folder = inbox_dir / day
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m feed_assets.sample_data --out data/inbox [--start --days --seed]``."""
    parser = argparse.ArgumentParser(description="Write the deterministic sample inbox.")
    parser.add_argument("--out", type=Path, default=Path("data/inbox"),
                        help="inbox folder to write the day folders into (default: data/inbox)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 3, 1),
                        help="first feed date, YYYY-MM-DD (default: 2024-03-01)")
    parser.add_argument("--days", type=int, default=16, help="number of days (default: 16)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--manifest", action="store_true",
                        help="print the whole summary as JSON: every file, and where each planted case is")
    args = parser.parse_args(argv)
    summary = generate_sample_inbox(args.out, start=args.start, days=args.days, seed=args.seed)
    if args.manifest:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(f"wrote {summary['days']} days ({summary['start']}...{summary['end']}) to {args.out}: "
              f"{summary['files']} files, {summary['items']} items, {len(summary['planted_duplicates'])} planted "
              f"duplicates, {len(summary['planted_malformed'])} planted malformed entries (--manifest says where)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
