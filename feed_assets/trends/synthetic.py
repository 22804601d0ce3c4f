"""A seeded synthetic paper feed for tests and demos of the trend detector.

The background is **stationary**: every day draws its papers from the same distribution, so
no background term is really rising and any term the detector reports is a false positive.

- **Vocabulary**: ``VOCABULARY_SIZE`` invented words built from consonant-vowel syllables
  (``toravel``, ``kimuzon``), never ending in ``s`` and never a stopword, so term extraction
  keeps each one as it is. Word frequencies follow a Zipf law (rank ``r`` has weight
  ``1 / (r + 2.7) ** ZIPF_EXPONENT``), like real text. The vocabulary is the same for every
  seed (it is drawn from ``WORLD_SEED``); the seed only changes the papers.
- **Phrases**: ``PHRASE_COUNT`` invented two- and three-word phrases (the synthetic "language
  model" or "graph neural network"), also Zipf-frequent, so frequent bigrams and trigrams
  exist as in real abstracts.
- **Papers**: the number per day is Poisson around ``papers_per_day``. A title is one or two
  chunks; an abstract is 4 to 8 sentences, each a boilerplate opener ("We propose",
  "Experiments show that") and 2 to 4 chunks joined by stopwords ("of the", "for", "with").
  A chunk is a phrase (30 %) or a run of 1 to 3 vocabulary words. Stopwords and punctuation
  thus cut the text into short runs of content words, as in real abstracts.

A ``PlantedTrend`` adds one invented phrase from a start day on. Its words must not be in
the vocabulary, so before ``start`` no paper can contain it, not even as separate words. On
day ``i`` of the ramp (``i = 0`` on ``start``) exactly ``round(share * papers)`` of the day's
papers (at random) contain it, ``share = peak_share * (i + 1) / ramp_days``, then
``peak_share`` from the end of the ramp on. Each such paper has it once, in its title or in
one abstract sentence. Insertions use their own random stream, so the background papers are
the same with or without a planted trend. Weekdays and weekends are alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from feed_assets.trends.terms import normalize_token, text_terms

WORLD_SEED = 20240301
VOCABULARY_SIZE = 3000
PHRASE_COUNT = 300
ZIPF_EXPONENT = 1.05
PHRASE_CHUNK_SHARE = 0.3

_CONSONANTS = list("bcdfghjklmnprtvz")
_VOWELS = list("aeiou")
_FINALS = ["", "", "", "n", "l", "r", "t", "m", "x"]
_OPENERS = [
    "We propose", "In this paper, we study", "This work introduces", "Experiments show that",
    "We present", "Our approach improves", "Results demonstrate that", "We introduce",
    "Furthermore,", "Moreover, we show that", "However,", "Existing methods rely on",
    "We evaluate", "Extensive experiments on", "Code is available at https://github.com/x/y and",
]
_CONNECTORS = ["of the", "for", "in", "with", "and", "to", "on the", "by", "from", ", and",
               "that", "over", "into", "under"]
_TITLE_CONNECTORS = [" for ", " with ", ": ", " via ", " in "]
_RUN_LENGTH_CDF = np.cumsum([0.55, 0.3, 0.15])  # 1, 2 or 3 words in a non-phrase chunk


@dataclass(frozen=True)
class PlantedTrend:
    """An invented phrase that appears from ``start`` on in a growing share of papers."""

    phrase: str
    start: dt.date
    ramp_days: int = 7
    peak_share: float = 0.04

    def __post_init__(self) -> None:
        """Reject an empty phrase, a ramp shorter than a day or a share outside (0, 1]."""
        if not self.phrase.split():
            raise ValueError("phrase must have at least one word")
        if self.ramp_days < 1:
            raise ValueError(f"ramp_days must be >= 1, got {self.ramp_days}")
        if not 0 < self.peak_share <= 1:
            raise ValueError(f"peak_share must be in (0, 1], got {self.peak_share}")

    def share_on(self, day: dt.date) -> float:
        """The share of the day's papers that contain the phrase."""
        if day < self.start:
            return 0.0
        ramp_day = (day - self.start).days
        return self.peak_share * min(ramp_day + 1, self.ramp_days) / self.ramp_days


@dataclass(frozen=True)
class _World:
    """The fixed invented language: words and phrases with their Zipf probabilities."""

    words: tuple[str, ...]
    word_cdf: np.ndarray
    phrases: tuple[str, ...]
    phrase_cdf: np.ndarray

    def draw_words(self, rng: np.random.Generator, size: int) -> list[str]:
        """``size`` words drawn independently by their Zipf probabilities."""
        return [self.words[i] for i in _draw(rng, self.word_cdf, size)]

    def draw_phrase(self, rng: np.random.Generator) -> str:
        """One phrase drawn by the phrases' Zipf probabilities."""
        return self.phrases[_draw(rng, self.phrase_cdf, 1)[0]]


def _draw(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn from the distribution with this cumulative distribution (inverse CDF)."""
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def zipf_probabilities(size: int, exponent: float = ZIPF_EXPONENT) -> np.ndarray:
    """Zipf-Mandelbrot probabilities of ranks 1..size: weight 1 / (rank + 2.7) ** exponent."""
    weights = 1.0 / (np.arange(1, size + 1) + 2.7) ** exponent
    return weights / weights.sum()


def _invented_word(rng: np.random.Generator) -> str:
    """One invented word of 2 to 4 consonant-vowel syllables and an optional final consonant."""
    syllables = int(rng.integers(2, 5))
    letters = [rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables)]
    return "".join(letters) + rng.choice(_FINALS)


def _is_clean_word(word: str) -> bool:
    """Whether term extraction keeps the word exactly as it is (not dropped, not folded)."""
    return normalize_token(word) == word and text_terms(word, None) == {word}


@lru_cache(maxsize=1)
def world() -> _World:
    """The invented vocabulary and phrases, the same for every corpus (seeded by WORLD_SEED)."""
    rng = np.random.default_rng(WORLD_SEED)
    words: dict[str, None] = {}
    while len(words) < VOCABULARY_SIZE:
        word = _invented_word(rng)
        if _is_clean_word(word):
            words.setdefault(word)
    vocabulary = tuple(words)
    phrases: dict[str, None] = {}
    while len(phrases) < PHRASE_COUNT:
        picks = rng.choice(VOCABULARY_SIZE, size=int(rng.integers(2, 4)), replace=False)
        phrases.setdefault(" ".join(vocabulary[i] for i in picks))
    return _World(vocabulary, np.cumsum(zipf_probabilities(VOCABULARY_SIZE)), tuple(phrases),
                  np.cumsum(zipf_probabilities(PHRASE_COUNT)))


def _chunk(rng: np.random.Generator, language: _World) -> str:
    """A run of content words: a phrase, or 1 to 3 vocabulary words."""
    if rng.random() < PHRASE_CHUNK_SHARE:
        return language.draw_phrase(rng)
    return " ".join(language.draw_words(rng, int(_draw(rng, _RUN_LENGTH_CDF, 1)[0]) + 1))


def _sentence(rng: np.random.Generator, chunks: list[str]) -> str:
    """One abstract sentence: a boilerplate opener, then the chunks joined by stopwords."""
    text = _OPENERS[rng.integers(len(_OPENERS))] + " " + chunks[0]
    for chunk in chunks[1:]:
        text += " " + _CONNECTORS[rng.integers(len(_CONNECTORS))] + " " + chunk
    return text + "."


def _title(rng: np.random.Generator, chunks: list[str]) -> str:
    """A title-cased title of one or two chunks."""
    joined = chunks[0]
    for chunk in chunks[1:]:
        joined += _TITLE_CONNECTORS[rng.integers(len(_TITLE_CONNECTORS))] + chunk
    return " ".join(word[:1].upper() + word[1:] for word in joined.split(" "))


@dataclass
class _Draft:
    """A paper before it is written out: its chunks, and the seed for its stopwords."""

    title_chunks: list[str]
    sentences: list[list[str]]
    wording_seed: int


def _draft(rng: np.random.Generator, language: _World) -> _Draft:
    """The chunks of one paper: the title's, and each abstract sentence's."""
    title_chunks = [_chunk(rng, language) for _ in range(int(rng.integers(1, 3)))]
    sentences = [[_chunk(rng, language) for _ in range(int(rng.integers(2, 5)))]
                 for _ in range(int(rng.integers(4, 9)))]
    return _Draft(title_chunks, sentences, int(rng.integers(2**63)))


def _render(draft: _Draft) -> tuple[str, str]:
    """The (title, abstract) of a draft; its own random stream picks openers and connectors."""
    rng = np.random.default_rng(draft.wording_seed)
    abstract = " ".join(_sentence(rng, chunks) for chunks in draft.sentences)
    return _title(rng, draft.title_chunks), abstract


def _plant(rng: np.random.Generator, phrase: str, draft: _Draft) -> None:
    """Insert the phrase once, as a new chunk of the title or of one abstract sentence."""
    if rng.random() < 0.5:
        draft.title_chunks.insert(int(rng.integers(len(draft.title_chunks) + 1)), phrase)
    else:
        sentence = draft.sentences[rng.integers(len(draft.sentences))]
        sentence.insert(int(rng.integers(len(sentence) + 1)), phrase)


@lru_cache(maxsize=1)
def _boilerplate_words() -> frozenset[str]:
    """The words the openers and connectors bring to every corpus, as term extraction keeps them."""
    terms = text_terms(" . ".join(_OPENERS + _CONNECTORS + _TITLE_CONNECTORS), None)
    return frozenset(term for term in terms if " " not in term)


def _check_planted(planted: PlantedTrend, language: _World) -> None:
    """Refuse a planted phrase that background words (vocabulary or boilerplate) could form."""
    words = {normalize_token(word) for word in planted.phrase.lower().split()}
    shared = words & (set(language.words) | _boilerplate_words())
    if shared:
        raise ValueError(f"planted phrase uses background words {sorted(shared)}")


def synthetic_corpus(
    start: dt.date,
    days: int,
    papers_per_day: int = 150,
    seed: int = 0,
    planted: PlantedTrend | None = None,
) -> dict[dt.date, list[tuple[str, str]]]:
    """``days`` consecutive days from ``start``, each mapped to its (title, abstract) pairs.

    Deterministic for a given seed; see the module docstring for the model.
    """
    if days < 0 or papers_per_day < 0:
        raise ValueError("days and papers_per_day must not be negative")
    language = world()
    if planted is not None:
        _check_planted(planted, language)
    background = np.random.default_rng([seed, 0])
    planting = np.random.default_rng([seed, 1])
    corpus: dict[dt.date, list[tuple[str, str]]] = {}
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        drafts = [_draft(background, language) for _ in range(int(background.poisson(papers_per_day)))]
        if planted is not None and drafts:
            hits = round(planted.share_on(day) * len(drafts))
            for index in planting.choice(len(drafts), size=hits, replace=False):
                _plant(planting, planted.phrase, drafts[index])
        corpus[day] = [_render(draft) for draft in drafts]
    return corpus
