"""Term extraction: n-grams, dropped words, plural folding, the case rule, the three kinds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feed_assets.trends.terms import (
    BOILERPLATE,
    category_terms,
    fold_plural,
    keyword_terms,
    normalize_token,
    paper_terms,
    text_terms,
)


def test_unigrams_bigrams_and_trigrams_of_a_run():
    assert text_terms("graph neural network", None) == {
        "graph", "neural", "network", "graph neural", "neural network", "graph neural network"}


def test_no_four_grams():
    terms = text_terms(None, "sparse graph neural network")
    assert "sparse graph neural" in terms and "graph neural network" in terms
    assert "sparse graph neural network" not in terms


def test_title_and_abstract_never_join():
    assert "retrieval augmentation" not in text_terms("Sparse Retrieval", "Augmentation")


def test_stopwords_and_boilerplate_are_dropped_and_break_runs():
    terms = text_terms(None, "We propose a novel approach to video generation using sparse attention.")
    assert terms == {"video", "generation", "video generation", "sparse", "attention", "sparse attention"}


@pytest.mark.parametrize("word", ["paper", "proposed", "novel", "approaches", "methods", "results",
                                  "demonstrate", "experiments", "performance", "state-of-the-art",
                                  "existing", "significantly", "furthermore", "moreover", "however",
                                  "code", "available", "GitHub", "via", "using", "based", "also",
                                  "new", "work", "studies", "framework"])
def test_boilerplate_words_are_not_terms(word):
    assert text_terms(f"sparse {word} attention", None) == {"sparse", "attention"}


def test_boilerplate_list_holds_only_lowercase_words():
    assert all(word == word.lower() and " " not in word for word in BOILERPLATE)


@pytest.mark.parametrize("text", [
    "sparse attention. Transformer", "sparse attention, transformer", "sparse attention; transformer",
    "sparse attention: transformer", "sparse attention (transformer)", "sparse attention [transformer]",
    'sparse attention "transformer"', "sparse attention! transformer", "sparse attention? transformer",
    "sparse attention \u2014 transformer",
])
def test_no_ngram_across_phrase_ending_punctuation(text):
    terms = text_terms(None, text)
    assert "transformer" in terms and "sparse attention" in terms
    assert "attention transformer" not in terms


def test_other_separators_do_not_break_runs():
    assert "encoder decoder" in text_terms(None, "an encoder/decoder model")


def test_no_ngram_across_numbers_and_single_letters():
    terms = text_terms(None, "attention 2024 heads and model x scaling")
    assert terms == {"attention", "head", "model", "scaling"}


def test_numbers_single_letters_and_urls_are_dropped():
    terms = text_terms(None, "See https://example.org/x?y=1 and www.foo.net and github.com/org/repo, x 42 3.5")
    assert terms == {"see"}


def test_tex_math_is_cut_out():
    assert text_terms(None, r"bounds in $\ell_\infty$ norm") == {"bound", "norm"}


def test_hyphenated_tokens_stay_one_token():
    terms = text_terms("Fine-Tuning Vision-Language Models", None)
    assert terms == {"fine-tuning", "vision-language", "model", "fine-tuning vision-language",
                     "vision-language model", "fine-tuning vision-language model"}


@pytest.mark.parametrize("token", ["LLM", "RLHF", "DiT", "GPT-4", "LoRA", "NeRF", "ViT", "GPT-3.5"])
def test_acronyms_and_mixed_case_names_keep_their_case(token):
    assert normalize_token(token) == token
    assert token in text_terms(f"{token} adapter", None)


@pytest.mark.parametrize(("token", "term"), [
    ("LLMs", "LLM"), ("ViTs", "ViT"), ("NeRFs", "NeRF"), ("LoRAs", "LoRA"), ("ResNets", "ResNet"),
    ("LLM-Agents", "LLM-agent"), ("DiT-based", "DiT-based"), ("Transformer", "transformer"),
    ("Fine-Tuning", "fine-tuning"), ("model's", "model"), ("model\u2019s", "model"),
])
def test_case_rule_and_plural_of_tokens(token, term):
    assert normalize_token(token) == term


@pytest.mark.parametrize(("plural", "singular"), [
    ("models", "model"), ("studies", "study"), ("classes", "class"), ("processes", "process"),
    ("approaches", "approach"), ("boxes", "box"), ("meshes", "mesh"), ("biases", "bias"),
    ("ideas", "idea"), ("cases", "case"), ("uses", "use"), ("waves", "wave"), ("strategies", "strategy"),
    ("analyses", "analysis"), ("hypotheses", "hypothesis"), ("indices", "index"), ("matrices", "matrix"),
    ("criteria", "criterion"), ("metrics", "metric"), ("movies", "movie"), ("caches", "cache"),
    ("emojis", "emoji"), ("statuses", "status"),
])
def test_plurals_fold(plural, singular):
    assert fold_plural(plural) == singular


@pytest.mark.parametrize("word", [
    "analysis", "bias", "status", "process", "gaussian", "class", "corpus", "basis", "axis", "alias",
    "atlas", "canvas", "gas", "lens", "news", "series", "species", "robotics", "physics", "dynamics",
    "various", "continuous", "loss", "wireless", "this", "its", "data",
])
def test_singulars_and_non_nouns_are_left_alone(word):
    assert fold_plural(word) == word


def test_singular_and_plural_are_one_term():
    assert text_terms("Large Language Models", None) == text_terms(None, "large language model")
    assert "LLM" in text_terms(None, "LLMs and LLM")


def test_keyword_terms_are_normalized_but_not_split():
    assert keyword_terms(["  Large   Language Models ", "case studies", "RLHF", "", "   "]) == {
        "large language model", "case study", "RLHF"}


def test_category_terms_are_kept_as_given():
    assert category_terms([" cs.LG", "cs.CL ", "", "  ", "cs.LG"]) == {"cs.LG", "cs.CL"}


def test_paper_terms_are_sorted_kind_term_pairs():
    pairs = paper_terms("Sparse Attention", None, keywords=["Sparse Attention"], categories=["cs.LG"])
    assert pairs == [("category", "cs.LG"), ("keyword", "sparse attention"),
                     ("text", "attention"), ("text", "sparse"), ("text", "sparse attention")]


def test_missing_title_and_abstract_give_no_terms():
    assert text_terms(None, None) == set() and paper_terms(None, None) == []


@given(st.text(max_size=200), st.text(max_size=200))
def test_terms_are_deterministic_and_well_formed(title, abstract):
    terms = text_terms(title, abstract)
    assert terms == text_terms(title, abstract)
    for term in terms:
        words = term.split(" ")
        assert 1 <= len(words) <= 3 and all(len(word) > 1 for word in words)
        assert all(any(char.isalpha() for char in word) for word in words)
