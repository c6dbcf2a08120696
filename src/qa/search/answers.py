"""Picking the sentence(s) of a passage that answer a question: weighted word overlap, semantic similarity and
question cues (多少 → numbers, 何时 → dates, 谁 → people …)."""

from __future__ import annotations

import math
import re

import numpy as np

# Answer picking: weight of the sentence's cosine and of a matching question cue, next to word overlap (weight 1);
# a neighbouring sentence within NEIGHBOUR_MARGIN of the best one is shown with it. Measured on CMRC (README).
SEMANTIC_WEIGHT = 0.3
CUE_WEIGHT = 0.1
NEIGHBOUR_MARGIN = 0.1
CHINESE_NUMBER = "零一二三四五六七八九十百千万亿两"
CUES: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"多少|几|多大|多高|多长|多久|多远|比例|比重|百分之|增长率|数量|规模|金额"),
     re.compile(rf"\d|[{CHINESE_NUMBER}]+[个位名次项家所条座户人元亿万吨亩倍%年]")),
    (re.compile(r"何时|什么时候|哪一?年|哪一?天|几月|几号|日期|时间|时候"),
     re.compile(rf"\d{{2,4}}年|\d{{1,2}}月|[{CHINESE_NUMBER}]+年|[{CHINESE_NUMBER}]+月|世纪|年代|朝")),
    (re.compile(r"谁|哪位|什么人|何人|名字|叫什么"),
     re.compile(r"·|书记|主任|镇长|区长|市长|局长|部长|主席|总理|经理|院长|教授|先生|女士")),
    (re.compile(r"哪些|哪几|包括什么|有什么"), re.compile(r"、|包括|以及|分别")),
    (re.compile(r"哪里|哪儿|在哪|什么地方|何地|何处|位于"), re.compile(r"[省市县区镇村乡路街园洲国]")),
]


def overlap(terms: list[str], idf: dict[str, float], sentence_terms: list[set[str]]) -> np.ndarray:
    """Score sentences by the question terms they hold, each weighted by its idf and by how few of the passage's
    sentences hold it.

    Args:
        terms: The question's search terms, without those of the document title (the topic, not the fact).
        idf: The corpus idf of each term.
        sentence_terms: The terms of each sentence of the passage.

    Returns:
        One share (0..1) per sentence.
    """
    weights = {}
    for term in terms:
        holding = sum(term in found for found in sentence_terms)
        weights[term] = idf[term] * (math.log(1 + len(sentence_terms) / holding) if holding else 1.0)
    total = sum(weights.values()) or 1.0
    return np.array([sum(w for term, w in weights.items() if term in found) / total for found in sentence_terms])


def cue_matches(question: str, sentences: list[str]) -> np.ndarray:
    """Mark the sentences that hold what the question asks for (a number for 多少, a date for 何时 …).

    Args:
        question: The prepared question.
        sentences: The passage's sentences.

    Returns:
        1.0 or 0.0 per sentence.
    """
    wanted = [pattern for cue, pattern in CUES if cue.search(question)]
    return np.array([float(any(p.search(s) for p in wanted)) for s in sentences])


def pick(sentences: list[str], scores: np.ndarray) -> str:
    """Return the best sentence, joined with a neighbour that scores within :data:`NEIGHBOUR_MARGIN` of it.

    Args:
        sentences: The passage's sentences.
        scores: Their scores.

    Returns:
        The answering sentence(s), verbatim.
    """
    best = int(np.argmax(scores))
    neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(sentences)]
    close = [i for i in neighbours if scores[i] >= scores[best] - NEIGHBOUR_MARGIN]
    if close:
        nearest = max(close, key=lambda i: scores[i])
        return "".join(sentences[min(best, nearest) : max(best, nearest) + 1])
    return sentences[best]


def sentence_scores(question: str, cosines: np.ndarray, overlaps: np.ndarray, sentences: list[str]) -> np.ndarray:
    """Combine word overlap, semantic similarity and cues into one score per sentence.

    Args:
        question: The prepared question.
        cosines: Each sentence's cosine to the question.
        overlaps: Each sentence's :func:`overlap`.
        sentences: The sentences.

    Returns:
        The scores.
    """
    return overlaps + SEMANTIC_WEIGHT * cosines + CUE_WEIGHT * cue_matches(question, sentences)
