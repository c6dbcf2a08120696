"""Characters, sentences and search terms: cleaning a line, splitting sentences, cutting jieba terms (rjieba: jieba's
segmenter and dictionary in Rust, the same words as jieba about 15 times faster), and the punctuation classes the
readers, the line joiner and the chunker share."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import rjieba

SENTENCE_END = "。！？!?；;…"
CLOSING = "”’」』）)】》\"'"
PARAGRAPH_END = SENTENCE_END + "：:"
CLAUSE_MARKS = "，,。；;"
INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # control characters and lone surrogates
SENTENCE = re.compile(rf"[^{SENTENCE_END}]+(?:[{SENTENCE_END}]+[{CLOSING}]*|$)|[{SENTENCE_END}]+[{CLOSING}]*")
TERM = re.compile(r"[\w\u4e00-\u9fff]")
STOPWORDS = frozenset(
    "的 地 得 了 着 过 是 在 和 与 及 或 等 也 都 就 而 被 把 对 中 上 下 为 以 于 之 其 这 那 有 个 吗 呢 吧 啊 么 呀 哦 "
    "什么 哪些 哪个 哪里 哪儿 哪 多少 几 谁 怎么 怎样 怎么样 如何 为什么 是否 是不是 请问 一下 告诉 我 你 我们 你们".split()
)
NUMBER_TERM = re.compile(r"^(\d+(?:\.\d+)?)%$")


def clean_line(text: str) -> str:
    """Remove invisible and control characters, collapse whitespace and drop it between Chinese characters
    (typographic padding such as 李\u3000强); punctuation is left as it is.

    Args:
        text: One line of text.

    Returns:
        The cleaned line.
    """
    text = CONTROL.sub("", INVISIBLE.sub("", text))
    return CJK_GAP.sub("", SPACES.sub(" ", text)).strip()


@lru_cache(maxsize=4096)
def _terms(text: str) -> tuple[str, ...]:
    """Cut a text into terms; recent texts (questions, titles, synonyms) are remembered."""
    terms = []
    for word in rjieba.cut_for_search(unicodedata.normalize("NFKC", text), True):
        word = NUMBER_TERM.sub(r"\1", word.strip().lower())
        if word and TERM.search(word) and word not in STOPWORDS:
            terms.append(word)
    return tuple(terms)


def forget_tokenizations() -> None:
    """Forget the remembered tokenizations (so that a benchmark times a build as a fresh process runs it)."""
    _terms.cache_clear()


def tokenize(text: str) -> list[str]:
    """Cut text into search terms: jieba words (search mode), numbers and Latin words kept whole, lower-cased,
    full-width characters folded (NFKC), a percentage kept as its number, punctuation and stopwords dropped.

    Args:
        text: Any text.

    Returns:
        The terms in order.
    """
    return list(_terms(text))


def split_sentences(text: str) -> list[str]:
    """Split Chinese (or mixed) text after sentence-ending punctuation.

    Args:
        text: A paragraph.

    Returns:
        The sentences, punctuation kept, empty pieces dropped.
    """
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def _ends_paragraph(line: str) -> bool:
    return line.endswith(tuple(PARAGRAPH_END + CLOSING + "."))
