"""A paper's terms: normalized n-grams of its title and abstract, its keywords and categories.

This module is the specification, in plain Python, one paper at a time. The warehouse counts
terms with its vectorized form in DuckDB SQL (``term_sql.py``), which reads its vocabulary
from here and is tested to give exactly the same terms.

Text terms (``text_terms``)
---------------------------
1. URLs, domain names (``github.com/x``) and TeX math (``$...$``) are cut out; each acts
   like a full stop.
2. The text is split into tokens: runs of letters/digits, joined inside a token by hyphens
   (``fine-tuning``, ``GPT-4``, ``state-of-the-art``), apostrophes or a dot between digits
   (``GPT-3.5``). A possessive ``'s`` is dropped. Any other character (space, ``/``, ``+``,
   ``&``...) only separates tokens.
3. Each token is normalized (``normalize_token``): lowercased unless it has two or more
   capital letters (``LLM``, ``RLHF``, ``DiT``, ``GPT-4``, ``LoRA``, ``NeRF`` stay as
   written; a sentence-initial ``Transformer`` becomes ``transformer``), then its plural is
   folded (``fold_plural``). In a hyphenated token the case rule applies to each part, so
   the title-case ``Fine-Tuning`` is ``fine-tuning`` while ``DiT-based`` keeps ``DiT``.
4. A token is dropped when it is a stopword or a research-boilerplate word (checked on its
   lowercase form, before and after plural folding), a number (no letter at all: ``2024``,
   ``3.5``) or a single character.
5. Terms are the unigrams, bigrams and trigrams of *contiguous kept tokens*, joined by one
   space. A dropped token breaks the run, as do the phrase-ending marks
   ``. , ; : ! ? ( ) [ ] { } "`` (and curly quotes, en and em dashes). So "a novel diffusion
   model for video" gives ``diffusion``, ``model``, ``diffusion model`` and ``video``, never
   ``model video``.

Boilerplate (``BOILERPLATE``) is the vocabulary papers use to describe themselves rather than
their subject: "we propose a novel approach", "experiments show state-of-the-art performance",
"code is available on GitHub". These words are in nearly every abstract, so they cannot rise
or fall in a way that means anything, and as n-gram parts they would only multiply terms
("novel approach", "approach based"). Content words that also look generic are kept on
purpose because they build real phrases: ``model`` (language model), ``learning``
(reinforcement learning), ``data``, ``task``, ``benchmark``, ``dataset``, ``training``,
``agent``. ``framework`` and ``study`` are boilerplate: in abstracts they almost always
describe the paper itself ("we present a framework", "in this study").

Plural folding (``fold_plural``) is a small suffix stemmer for nouns, not a lemmatizer. Its
rules, in order: a short irregular table (indices -> index, analyses -> analysis, criteria
-> criterion); words of three letters or less, and words ending in ``-ss``, ``-us``, ``-is``
(class, status, analysis, this) are left alone, except a few real plurals (emojis, menus);
``-ies`` -> ``-y`` (studies -> study) except series, species and a few ``-ie`` nouns;
``-sses/-xes/-ches/-shes`` drop ``es`` (classes -> class, approaches -> approach); a word
whose ``es``-less stem is a known singular ending in ``-as``/``-us`` drops ``es`` (biases ->
bias); ``-ics`` words are left alone (robotics, physics, dynamics) except a few countable
ones (metrics, topics); singular ``-as`` words are kept (bias, alias, atlas, canvas, gas);
anything else ending in ``s`` drops it (models -> model, ideas -> idea, cases -> case).
Tokens that keep their case fold only by dropping a final ``s`` after a capital (``LLMs`` ->
``LLM``, ``ViTs`` -> ``ViT``) or where the lowercase rule just drops a suffix (``ResNets`` ->
``ResNet``). In a hyphenated token only the last part is folded (``LLM-agents`` ->
``LLM-agent``). Words that do not end in ``s`` (gaussian) are never touched.

Everything is deterministic: the same text always gives the same set of terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

MAX_NGRAM = 3

STOPWORDS = frozenset("""
a about above after again against all almost along already although always am among an and
another any anyone anything are around as at be became because become becomes been before
being below between beyond both but by can cannot could did do does doing done down during
each either else enough etc even ever every few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just least less many may
me might more most much must my myself neither no nor not now of off often on once one only
onto or other others otherwise our ours ourselves out over own per perhaps quite rather same
she should since so some such than that the their theirs them themselves then there these
they this those though three through throughout thus to too two under unless until up upon
us very was we were what whatever when whenever where whereas whether which while who whom
whose why will with within without would yet you your yours yourself
can't don't doesn't isn't aren't won't it's we're they're
e.g i.e eg ie et al vs versus
""".split())

BOILERPLATE = frozenset("""
paper papers article propose proposes proposed proposing present presents presented
introduce introduces introduced introducing novel approach method methodology result
show shows showed shown showing demonstrate demonstrates demonstrated demonstrating
experiment experimental experimentally performance state-of-the-art sota existing
significant significantly furthermore moreover however additionally finally specifically
particularly respectively therefore hence code available publicly github https http www
url via using use used uses based also new work study framework achieve achieves achieved
achieving outperform outperforms outperformed outperforming effective effectively
extensive extensively comprehensive various several recent recently well first second
abstract arxiv preprint make makes made making analyse analyses analysed analyze analyzes
analyzed explain explains explained help helps further
""".split())

_PHRASE_END = '.,;:!?()[]{}"\u201c\u201d\u2013\u2014'
_CUT_OUT = re.compile(
    r"(?:https?://|www\.)\S+"  # URLs
    r"|\b[\w.-]+\.(?:com|org|net|io|ai|edu)\b(?:/\S*)?"  # bare domains: github.com/org/repo
    r"|\$[^$]*\$",  # TeX math
    re.IGNORECASE,
)
_TOKEN_OR_BREAK = re.compile(
    r"(?P<token>[^\W_]+(?:(?:-|'|(?<=\d)\.(?=\d))[^\W_]+)*)"
    r"|(?P<break>[" + re.escape(_PHRASE_END) + r"])"
)
_POSSESSIVE = re.compile(r"'s$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")

_IRREGULAR_PLURALS = {
    "analyses": "analysis", "hypotheses": "hypothesis", "syntheses": "synthesis",
    "theses": "thesis", "parentheses": "parenthesis", "diagnoses": "diagnosis",
    "prognoses": "prognosis", "crises": "crisis", "axes": "axis", "bases": "base",
    "indices": "index", "matrices": "matrix", "vertices": "vertex", "simplices": "simplex",
    "criteria": "criterion", "phenomena": "phenomenon", "heroes": "hero", "echoes": "echo",
}
# real plurals among the -is/-us/-ss words, which are otherwise left alone
_PLURALS_OF_IS_US = frozenset({"emojis", "wikis", "menus"})
# singulars ending in -as/-us/-ies/-ches/-ics that the suffix rules would otherwise cut
_SINGULAR_AS_US = frozenset({
    "alias", "atlas", "bias", "canvas", "gas", "pancreas", "lens", "news",
    "bus", "campus", "consensus", "corpus", "focus", "virus", "status", "bonus", "census",
    "radius", "stimulus", "apparatus", "nexus", "locus", "modulus", "syllabus", "genus",
})
_UNCHANGED_IES = frozenset({"series", "species"})
_IE_NOUNS = frozenset({"movies", "cookies", "zombies", "selfies", "calories", "ties", "lies",
                       "pies", "dies", "rookies", "hoodies", "genies"})
_CHE_NOUNS = frozenset({"caches", "niches", "avalanches", "headaches"})
_PLURALS_OF_ICS = frozenset({"metrics", "topics", "heuristics", "characteristics",
                             "clinics", "critics", "rubrics", "logics", "tactics"})


def fold_plural(word: str) -> str:
    """The singular of a lowercase word by the suffix rules of the module docstring."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if word in _PLURALS_OF_IS_US:
        return word[:-1]
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word in _UNCHANGED_IES:
        return word
    if word.endswith("ies") and word not in _IE_NOUNS:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "shes")) or (word.endswith("ches") and word not in _CHE_NOUNS):
        return word[:-2]
    if word.endswith("es") and word[:-2] in _SINGULAR_AS_US:
        return word[:-2]
    if word.endswith("ics") and word not in _PLURALS_OF_ICS:
        return word
    if word in _SINGULAR_AS_US:
        return word
    return word[:-1]


def keeps_case(token: str) -> bool:
    """Whether a token is an acronym or mixed-case name (two or more capitals): LLM, DiT, GPT-4."""
    return sum(char.isupper() for char in token) >= 2


def _fold_cased(token: str) -> str:
    """The singular of a case-kept token: LLMs -> LLM, ResNets -> ResNet, RLHF unchanged."""
    if len(token) > 2 and token.endswith("s") and token[-2].isupper():
        return token[:-1]
    lower = token.lower()
    folded = fold_plural(lower)
    return token[: len(folded)] if lower.startswith(folded) else token


def _case_part(part: str) -> str:
    """One hyphen part under the case rule: kept if it has two or more capitals, else lowercase."""
    return part if keeps_case(part) else part.lower()


def _fold_part(part: str) -> str:
    """The singular of one (case-ruled) hyphen part; parts with digits are left alone."""
    if not part.isalpha():
        return part
    return _fold_cased(part) if keeps_case(part) else fold_plural(part)


def normalize_token(token: str) -> str:
    """A token's term form: case rule per hyphen part, then plural folding of the last part.

    ``Fine-Tuning`` and ``fine-tuning`` are one term; ``GPT-4``, ``DiT-based`` keep their
    capitals; ``LLM-Agents`` -> ``LLM-agent``.
    """
    token = _POSSESSIVE.sub("", token.replace("\u2019", "'"))
    parts = [_case_part(part) for part in token.split("-")]
    parts[-1] = _fold_part(parts[-1])
    return "-".join(parts)


def is_dropped(raw: str, normalized: str) -> bool:
    """Whether a token is left out of terms: stopword, boilerplate, number or single character."""
    if len(normalized) <= 1 or not any(char.isalpha() for char in normalized):
        return True
    forms = {raw.lower(), normalized.lower()}
    return any(form in STOPWORDS or form in BOILERPLATE for form in forms)


def phrases(text: str) -> Iterator[list[str]]:
    """The runs of contiguous kept, normalized tokens of a text, in order."""
    run: list[str] = []
    for match in _TOKEN_OR_BREAK.finditer(_CUT_OUT.sub(" . ", text.replace("\u2019", "'"))):
        raw = match.group("token")
        normalized = normalize_token(raw) if raw else ""
        if raw is None or is_dropped(raw, normalized):
            if run:
                yield run
            run = []
        else:
            run.append(normalized)
    if run:
        yield run


def ngrams(tokens: list[str], max_n: int = MAX_NGRAM) -> Iterator[str]:
    """Every n-gram (1 <= n <= max_n) of a token run, joined by one space."""
    for n in range(1, max_n + 1):
        for start in range(len(tokens) - n + 1):
            yield " ".join(tokens[start:start + n])


def text_terms(title: str | None, abstract: str | None) -> set[str]:
    """The distinct text terms of a paper's title and abstract (title and abstract never join)."""
    terms: set[str] = set()
    for text in (title, abstract):
        for run in phrases(text or ""):
            terms.update(ngrams(run))
    return terms


def normalize_phrase(phrase: str) -> str:
    """A multi-word phrase in term form: whitespace folded, each word normalized (no dropping)."""
    return " ".join(normalize_token(word) for word in _WHITESPACE.split(phrase.strip()) if word)


def keyword_terms(keywords: Iterable[str]) -> set[str]:
    """Hugging Face ``ai_keywords`` as terms: normalized like text, never split into n-grams."""
    return {term for term in (normalize_phrase(keyword or "") for keyword in keywords) if term}


def category_terms(categories: Iterable[str]) -> set[str]:
    """arXiv categories as given (``cs.LG``), stripped, empty ones dropped."""
    return {category.strip() for category in categories if category and category.strip()}


def paper_terms(
    title: str | None,
    abstract: str | None,
    keywords: Iterable[str] = (),
    categories: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """All terms of one paper as sorted ``(kind, term)`` pairs, kind in text/keyword/category."""
    pairs = {("text", term) for term in text_terms(title, abstract)}
    pairs |= {("keyword", term) for term in keyword_terms(keywords)}
    pairs |= {("category", term) for term in category_terms(categories)}
    return sorted(pairs)
