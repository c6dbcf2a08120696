"""HTML for the chat: answers as passage cards, errors, the index panel.

Everything that comes from the corpus or the user is escaped here; the chatbot shows this HTML without Markdown,
so a passage holding ``<script>`` or ``**bold**`` appears literally.
"""

from __future__ import annotations

import html
import re

from qa.documents import tokenize
from qa.search import Answer, normalize_text
from qa.web.explain import CSS as WHY_CSS
from qa.web.explain import why_this_passage
from qa.web.holder import IndexInfo

NOT_FOUND = "资料中没有找到相关内容"
SHOW_IN_DOCUMENT = "在原文中查看 / Show in document"

CSS = """
.qa-reply { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Sans Pro", sans-serif; line-height: 1.6; }
.qa-answer { font-size: 1.05em; margin-bottom: .6em; }
.qa-answer strong { color: var(--body-text-color); }
.qa-certainty { font-size: .8em; font-weight: 400; color: var(--body-text-color-subdued); white-space: nowrap; }
.qa-none { font-weight: 600; color: #b45309; margin-bottom: .4em; }
.qa-context { color: var(--body-text-color-subdued); font-size: .9em; margin-bottom: .4em; }
.qa-notice { color: #b45309; font-size: .9em; }
.qa-error { color: #b91c1c; font-weight: 600; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5em .75em; margin: .5em 0;
           background: var(--background-fill-secondary); }
.qa-card.qa-nearest { border-style: dashed; }
.qa-meta { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .3em; display: flex;
           flex-wrap: wrap; gap: .2em .8em; align-items: center; }
.qa-rank { font-weight: 700; color: var(--body-text-color); }
.qa-bar { display: inline-block; width: 60px; height: 6px; background: var(--border-color-primary);
          border-radius: 3px; vertical-align: middle; overflow: hidden; }
.qa-bar > span { display: block; height: 100%; background: #16a34a; }
.qa-text { white-space: pre-wrap; word-break: break-word; }
.qa-text mark.qa-hl { background: #fde047; color: #111; padding: 0 1px; border-radius: 2px; }
.qa-text mark.qa-short { background: #f97316; color: #fff; padding: 0 2px; border-radius: 2px; font-weight: 700; }
.qa-sentence { font-size: .9em; color: var(--body-text-color-subdued); }
.qa-nearest .qa-text mark.qa-hl { background: #e5e7eb; }
.qa-text .qa-term { text-decoration: underline 2px #2563eb; text-underline-offset: 3px; font-weight: 600; }
#qa-index table, #qa-index tr, #qa-index td { border: none !important; background: none !important; }
#qa-index td { padding: 1px 8px 1px 0 !important; vertical-align: top; font-size: .85em; overflow-wrap: anywhere; }
#qa-index td:first-child { white-space: nowrap; }
.qa-stale { color: #b91c1c; }
""" + WHY_CSS


def confidence(score: float) -> tuple[int, str]:
    """Turn a passage's retrieval score into a percentage and a label a person can read.

    Args:
        score: The passage's score (0..1: the hybrid retriever's fused score, or a cosine for dense retrieval).

    Returns:
        The score as a percentage (0–100) and its label, e.g. ``(74, "匹配度 74%")``.
    """
    percent = max(0, min(100, round(score * 100)))
    return percent, f"匹配度 {percent}%"


def certainty(evidence: float) -> str:
    """Describe how sure the system is that the question is answered (the searcher's 0..1 evidence).

    Args:
        evidence: :attr:`qa.search.Answer.confidence`.

    Returns:
        E.g. "把握：高（87%）".
    """
    word = "高" if evidence >= 0.8 else "中" if evidence >= 0.5 else "低"
    return f"把握：{word}（{max(0, min(100, round(evidence * 100)))}%）"


def _term_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Find non-overlapping occurrences of the terms in a text, longer terms first; one-character terms (年, 村, 3 …)
    would mark half the passage and are left out."""
    taken = [False] * len(text)
    spans = []
    lowered = text.lower()
    for term in sorted({t for t in terms if len(t) > 1}, key=len, reverse=True):
        for match in re.finditer(re.escape(term.lower()), lowered):
            start, end = match.span()
            if not any(taken[start:end]):
                spans.append((start, end))
                taken[start:end] = [True] * (end - start)
    return sorted(spans)


def _mark_terms(text: str, spans: list[tuple[int, int]], offset: int) -> str:
    """Escape a piece of text (starting at ``offset`` of the passage) and wrap the term spans that fall in it."""
    out, cursor = [], 0
    for start, end in spans:
        start, end = max(start - offset, cursor), min(end - offset, len(text))
        if start >= end:
            continue
        out.append(html.escape(text[cursor:start]))
        out.append(f'<span class="qa-term">{html.escape(text[start:end])}</span>')
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def highlight(text: str, answer: str, terms: list[str], short: str = "") -> str:
    """Render a passage as HTML: escaped text, the answering sentence in ``<mark class="qa-hl">`` with the short
    answer inside it in ``<mark class="qa-short">``, the question's words marked.

    Args:
        text: The passage text.
        answer: The answering sentence (a substring of the text; ignored if it is not one).
        terms: The question's words.
        short: The exact answer (a substring of the answer sentence; ignored if it is not one).

    Returns:
        Safe HTML.
    """
    spans = _term_spans(text, terms)
    start = text.find(answer) if answer else -1
    if start < 0:
        return _mark_terms(text, spans, 0)
    end = start + len(answer)
    inner = _mark_terms(text[start:end], spans, start)
    at = answer.find(short) if short else -1
    if at >= 0:
        first, last = start + at, start + at + len(short)
        inner = (_mark_terms(text[start:first], spans, start)
                 + f'<mark class="qa-short">{_mark_terms(text[first:last], spans, first)}</mark>'
                 + _mark_terms(text[last:end], spans, last))
    return _mark_terms(text[:start], spans, 0) + f'<mark class="qa-hl">{inner}</mark>' + _mark_terms(text[end:], spans, end)


def _card(rank: int, hit, terms: list[str], total: dict[str, int], nearest: bool, trace=None) -> str:
    passage = hit.passage
    percent, label = confidence(hit.score)
    where = [html.escape(passage.title or passage.doc_id)]
    if passage.section:
        where.append(html.escape(passage.section))
    count = total.get(passage.doc_id)
    where.append(f"第 {passage.position}{f'/{count}' if count else ''} 段")
    meta = (f'<span class="qa-rank">#{rank}</span>'
            f'<span class="qa-conf" title="{hit.score:.3f}">{label} '
            f'<span class="qa-bar"><span style="width:{percent}%"></span></span></span>'
            + "".join(f'<span class="qa-where">{part}</span>' for part in where)
            + ('<span class="qa-nearest-label">最接近的段落（未必相关）</span>' if nearest else ""))
    meta += (f'<button type="button" class="qa-doc-link" value="{html.escape(passage.passage_id)}">'
             f'{SHOW_IN_DOCUMENT}</button>')
    classes = "qa-card qa-nearest" if nearest else "qa-card"
    return (f'<div class="{classes}" data-rank="{rank}" data-doc="{html.escape(passage.doc_id)}" '
            f'data-passage="{html.escape(passage.passage_id)}"><div class="qa-meta">{meta}</div>'
            f'<div class="qa-text">{highlight(passage.text, hit.answer, terms, hit.short_answer)}</div>'
            f'{why_this_passage(trace, rank)}</div>')


def render_answer(answer: Answer, asked: str | None = None, total: dict[str, int] | None = None) -> str:
    """Render a reply: the answer sentence (or that nothing was found), then one card per passage.

    Args:
        answer: The searcher's answer.
        asked: What the user typed, when the search used a different (contextualized) question.
        total: Passages per document, to show "第 5/16 段".

    Returns:
        Safe HTML for the chat.
    """
    terms = tokenize(normalize_text(answer.question))
    if asked and asked != answer.question:
        terms += tokenize(normalize_text(asked))
    parts = ['<div class="qa-reply">']
    if asked and asked != answer.question:
        parts.append(f'<div class="qa-context">理解为：{html.escape(answer.question)}</div>')
    if not answer.hits:
        parts.append(f'<div class="qa-none">{NOT_FOUND}。</div>')
    elif answer.answerable:
        parts.append(_opening(answer))
    else:
        parts.append(f'<div class="qa-none">{NOT_FOUND}。以下是最接近的段落，仅供参考'
                     f' <span class="qa-certainty">{certainty(answer.confidence)}</span></div>')
    parts += [f'<div class="qa-notice">{html.escape(notice)}</div>' for notice in answer.notices]
    parts += [_card(rank, hit, terms, total or {}, not answer.answerable, answer.trace)
              for rank, hit in enumerate(answer.hits, 1)]
    parts.append("</div>")
    return "".join(parts)


def _opening(answer: Answer) -> str:
    """The first line of an answered reply: the short answer (答：17个, or 可能是…，把握较低 when the answer is not
    :attr:`~qa.search.Answer.sure`) with the confidence, then the answering sentence; the sentence alone without a
    short answer."""
    top = answer.hits[0]
    sure = certainty(answer.confidence)
    if not top.short_answer:
        return (f'<div class="qa-answer">答：<strong>{html.escape(top.answer)}</strong>'
                f' <span class="qa-certainty">{sure}</span></div>')
    lead, doubt = ("答：", "") if answer.sure else ("可能是：", "，把握较低")
    return (f'<div class="qa-answer">{lead}<strong class="qa-short-answer">{html.escape(top.short_answer)}</strong>'
            f'{doubt} <span class="qa-certainty">{sure}</span>'
            f'<div class="qa-sentence">{html.escape(top.answer)}</div></div>')


def render_error(message: str) -> str:
    """Render a user error (e.g. an empty question) as a chat message.

    Args:
        message: The error's message.

    Returns:
        Safe HTML.
    """
    return f'<div class="qa-reply qa-error">⚠ {html.escape(message)}</div>'


def render_index_info(info: IndexInfo, status: str = "") -> str:
    """Render the index panel.

    Args:
        info: The index facts.
        status: A line to show under the table (e.g. the result of a rebuild).

    Returns:
        Safe HTML.
    """
    stale = (f'<span class="qa-stale">是 yes — {html.escape("; ".join(info.stale))}</span>' if info.stale
             else "否 no")
    rows = [("文档 documents", info.documents), ("段落 passages", info.passages), ("模型 model", info.model),
            ("构建时间 built", info.built_at), ("过期 stale", None), ("位置 folder", info.path)]
    cells = "".join(f"<tr><td>{name}</td><td>{stale if value is None else html.escape(str(value))}</td></tr>"
                    for name, value in rows)
    note = f'<div class="qa-notice">{html.escape(status)}</div>' if status else ""
    return f'<div class="qa-index"><table>{cells}</table>{note}</div>'
