"""Extractive blurbs: the one to three sentences of an article that best stand for it, never page furniture."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

MAX_BLURB_CHARS = 320
MAX_SENTENCES = 3
# Sentences outside these bounds are captions, headings, bylines or run-on lists, not summaries.
MIN_SENTENCE_CHARS = 40
MAX_SENTENCE_CHARS = 400
# Only the opening of a long article is searched: leads carry the point, and the cost stays flat.
MAX_SENTENCES_CONSIDERED = 60

# Split after ., ! or ? (optionally closed by a quote or bracket) before a capital, digit or quote.
OPENING_QUOTES = "\"'\u201c\u2018"
CLOSING_QUOTES = "\"'\u201d\u2019"
SENTENCE_END = re.compile(rf"(?<=[.!?])[{CLOSING_QUOTES})\]]?\s+(?=[{OPENING_QUOTES}(\[]?[A-Z0-9])")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# What sites wrap around an article: consent banners, sharing, navigation, sign-up and comment prompts, ads.
FURNITURE = re.compile(
    r"cookie|consent|accept all|privacy (?:policy|notice|settings)|terms (?:of|and) (?:use|service|conditions)"
    r"|share (?:this|on|via)|\bshare\b.*\b(?:facebook|twitter|linkedin|email)\b|\btweet this\b|pin it"
    r"|read (?:more|the full|next)|continue reading|click here|tap here|find out more|learn more"
    r"|sign(?:ing)? up|subscribe|newsletter|register (?:here|now|today|for)|log ?in\b|log out|create an account"
    r"|leave a (?:reply|comment)|comments? (?:are )?closed|you are commenting|post a comment|bloggers like this"
    r"|follow us|like us on|all rights reserved|copyright|©|advertis(?:e|ement|ing)|sponsored"
    r"|related (?:articles|posts|stories)|you (?:may|might) also like|recommended for you|most popular"
    r"|javascript|enable js|your browser|googletag|document\.|function\s*\(|\{|\}|=>"
    r"|download (?:the|our) app|skip to (?:main )?content|back to top|previous (?:post|article)|next (?:post|article)"
    r"|free (?:webinar|trial|download)|book (?:now|your place)|photo:|image:|credit:|getty images",
    re.IGNORECASE,
)
BULLET = re.compile(r"^(?:[•·*▪◦-]|\d+[.)])\s+")
LINK_OR_HANDLE = re.compile(r"https?://|www\.|@\w{2,}|\.(?:com|org|net)/", re.IGNORECASE)
STOP_WORD_LIST = (
    "a an and are as at be been but by for from had has have he her his i if in into is it its me my no not of on or "
    "our she so than that the their them then there these they this those to was we were what when which who will "
    "with you your"
)
STOP_WORDS = frozenset(STOP_WORD_LIST.split())


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, paragraph by paragraph; a line without an end mark stays one unit."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n+", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            sentences.extend(part.strip() for part in SENTENCE_END.split(paragraph) if part.strip())
    return [BULLET.sub("", sentence) for sentence in sentences]


def is_furniture(sentence: str) -> bool:
    """Whether a sentence is page furniture or otherwise unfit to stand for an article."""
    if not MIN_SENTENCE_CHARS <= len(sentence) <= MAX_SENTENCE_CHARS:
        return True
    if sentence[-1] not in f".!?){CLOSING_QUOTES}":
        # Headings, bylines, captions and buttons rarely end like a sentence.
        return True
    if not (sentence[0].isupper() or sentence[0].isdigit() or sentence[0] in OPENING_QUOTES):
        # Fragments: the tail of a list item or a dash-led aside.
        return True
    if sentence.endswith("?"):
        # Questions in a lead are mostly teasers ("Are you interested in ...?").
        return True
    if FURNITURE.search(sentence) or LINK_OR_HANDLE.search(sentence):
        return True
    letters = sum(character.isalpha() for character in sentence)
    return letters < 0.6 * len(sentence)


def _words(text: str) -> list[str]:
    return [word for word in WORD.findall(text.lower()) if word not in STOP_WORDS and len(word) > 1]


def _tfidf(bags: Sequence[Counter[str]], idf: dict[str, float]) -> list[dict[str, float]]:
    vectors = []
    for bag in bags:
        vector = {word: (1 + math.log(count)) * idf[word] for word, count in bag.items()}
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        vectors.append({word: value / norm for word, value in vector.items()})
    return vectors


def _cosine(left: dict[str, float], right: dict[str, float]) -> float:
    if len(left) > len(right):
        left, right = right, left
    return sum(value * right.get(word, 0.0) for word, value in left.items())


def rank_sentences(title: str, sentences: Sequence[str]) -> list[float]:
    """A score per sentence: TF-IDF centrality among the article's sentences, closeness to the title, earliness."""
    bags = [Counter(_words(sentence)) for sentence in sentences]
    title_bag = Counter(_words(title))
    documents = len(bags) + 1
    frequency: Counter[str] = Counter()
    for bag in [*bags, title_bag]:
        frequency.update(bag.keys())
    idf = {word: math.log((1 + documents) / (1 + count)) + 1 for word, count in frequency.items()}
    vectors = _tfidf(bags, idf)
    title_vector = _tfidf([title_bag], idf)[0] if title_bag else {}
    scores = []
    for index, vector in enumerate(vectors):
        centrality = sum(_cosine(vector, other) for other_index, other in enumerate(vectors) if other_index != index)
        centrality /= max(len(vectors) - 1, 1)
        to_title = _cosine(vector, title_vector) if title_vector else 0.0
        # Leads summarise: an early sentence gets a gentle lift, never enough to beat a clearly central one.
        earliness = 1.0 / (1.0 + index / 4)
        scores.append(centrality + 0.6 * to_title + 0.15 * earliness)
    return scores


def make_blurb(title: str, text: str, max_chars: int = MAX_BLURB_CHARS, max_sentences: int = MAX_SENTENCES) -> str:
    """The best 1-3 sentences of ``text`` in their original order, at most ``max_chars``; "" when none is fit."""
    sentences = [s for s in split_sentences(text)[:MAX_SENTENCES_CONSIDERED] if not is_furniture(s)]
    # A sentence that only repeats the title adds nothing under it.
    title_key = " ".join(_words(title))
    sentences = [s for s in sentences if " ".join(_words(s)) != title_key]
    sentences = _first_occurrences(sentences)
    if not sentences:
        return ""
    scores = rank_sentences(title, sentences)
    chosen: list[int] = []
    length = 0
    for index in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        extra = len(sentences[index]) + (1 if chosen else 0)
        if length + extra > max_chars:
            continue
        chosen.append(index)
        length += extra
        if len(chosen) == max_sentences:
            break
    if not chosen:
        return _shorten(sentences[max(range(len(sentences)), key=scores.__getitem__)], max_chars)
    return " ".join(sentences[index] for index in sorted(chosen))


def _first_occurrences(sentences: list[str]) -> list[str]:
    """Drop sentences that repeat an earlier one, as pull quotes repeat the body."""
    kept: list[str] = []
    seen: list[set[str]] = []
    for sentence in sentences:
        words = set(_words(sentence))
        if any(len(words & other) >= 0.8 * max(len(words | other), 1) for other in seen):
            continue
        kept.append(sentence)
        seen.append(words)
    return kept


def _shorten(sentence: str, max_chars: int) -> str:
    """Cut a sentence at a word boundary with an ellipsis, for when even the best one is too long."""
    if len(sentence) <= max_chars:
        return sentence
    cut = sentence[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:- \u2013\u2014")
    return cut + "…"
