"""The fold-out 为什么是这段？ / Why this passage? under each chat card: the passage's matched terms and scores, and
the answerability checks of the search (its :class:`~qa.search.Trace`)."""

from __future__ import annotations

import html

from qa.search import Trace

CSS = """
.qa-why { font-size: .8em; color: var(--body-text-color-subdued); margin-top: .3em; }
.qa-why summary { cursor: pointer; }
.qa-why ul { margin: .2em 0 .2em 1.2em; padding: 0; }
.qa-why .qa-declines { color: #b91c1c; }
"""

CHANNELS = {"dense": "语义 dense", "sparse": "词语 BM25", "context": "文档语境 context"}


def why_this_passage(trace: Trace | None, rank: int) -> str:
    """Render the fold-out for the card of a given rank.

    Args:
        trace: The search's trace (nothing is rendered without one).
        rank: The card's rank (1-based).

    Returns:
        Safe HTML: a ``<details class="qa-why">`` element, or "".
    """
    if trace is None or rank > len(trace.passages):
        return ""
    passage = trace.passages[rank - 1]
    matched = "、".join(passage.matched_terms) or "（无 none）"
    shares = "，".join(f"{CHANNELS[name]} {value:.2f}" for name, value in passage.shares.items())
    items = [f"<li>匹配的词 matched terms：{html.escape(matched)}</li>",
             f"<li>综合得分 fused {passage.fused:.3f} = {html.escape(shares)}"
             f"（余弦 cosine {passage.dense:.3f}，BM25 {passage.sparse:.2f}）</li>"]
    for check in trace.checks:
        verdict = '<span class="qa-declines">拒答 declines</span>' if check.declines else "通过 passes"
        items.append(f"<li>{html.escape(check.name)}：{verdict} — {html.escape(check.why)}</li>")
    return (f'<details class="qa-why"><summary>为什么是这段？ Why this passage?</summary>'
            f'<ul>{"".join(items)}</ul></details>')
