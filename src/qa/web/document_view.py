"""The document view: a whole indexed document as its reader sees it (title, headings, paragraphs), rebuilt from the
index's passages in order (headings from their ``section``), with the passage a card cites highlighted.

Each document is rendered to HTML once per index build and kept (:class:`DocumentViews`); showing a passage only
splices that one paragraph, highlighted, into the kept HTML, so a long document costs its rendering once, not per
click. Everything from the corpus is escaped: corpus text is text.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass

from qa.documents import Passage
from qa.web.render import highlight

CACHED_DOCUMENTS = 64

DOCUMENT_CSS = """
body:has(#qa-docpanel) .gradio-container { padding-right: calc(min(760px, 50vw) + 8px) !important; }
#qa-docpanel { position: fixed; top: 0; right: 0; width: min(760px, 50vw); height: 100vh; z-index: 1000;
               background: var(--background-fill-primary); border-left: 1px solid var(--border-color-primary);
               box-shadow: -8px 0 24px rgba(0, 0, 0, .15); padding: .75em 1em; overflow: hidden; }
@media (max-width: 800px) {
  #qa-docpanel { width: 100vw; }
  body:has(#qa-docpanel) .gradio-container { padding-right: 0 !important; }
}
.qa-doc { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Sans Pro", sans-serif; line-height: 1.8; }
.qa-doc-file { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .4em; }
.qa-doc-body { height: calc(100vh - 150px); overflow-y: auto; padding-right: .5em; }
.qa-doc-body h1.qa-doc-title { font-size: 1.35em; font-weight: 700; margin: .2em 0 .6em; text-align: center; }
.qa-doc-body h2.qa-doc-heading { font-size: 1.1em; font-weight: 700; margin: 1.1em 0 .4em; }
.qa-doc-body p.qa-doc-p { margin: 0 0 .7em; text-indent: 2em; white-space: pre-wrap; word-break: break-word; }
.qa-doc-body p.qa-doc-current { background: #fef9c3; outline: 2px solid #facc15; border-radius: 4px;
                                padding: .2em .4em; scroll-margin: 30vh; }
.qa-doc-body mark.qa-hl { background: #fde047; color: #111; padding: 0 1px; border-radius: 2px; }
.qa-doc-body .qa-term { text-decoration: underline 2px #2563eb; text-underline-offset: 3px; font-weight: 700; }
.qa-doc-missing { color: #b45309; }
button.qa-doc-link { font-size: .85em; color: #2563eb; background: none; border: none; padding: 0; cursor: pointer;
                     text-decoration: underline; margin-left: auto; }
"""

# The page's script (``launch(js=...)``): a click on a card's 在原文中查看 button asks the server for the document;
# the chat's HTML is sanitized (no data-* attributes, no handlers), so the button carries the passage id as its
# ``value`` and the answer sentence is read from the card's highlight.
DOCUMENT_JS = """
() => {
  window.qaScrollToPassage = (tries = 60) => {
    const current = document.querySelector('#qa-docview .qa-doc-current');
    if (current && current.id === 'qa-p-' + (window.qaDocShown || '')) {
      current.scrollIntoView({block: 'center'});
      return;
    }
    if (tries > 0) setTimeout(() => window.qaScrollToPassage(tries - 1), 100);
  };
  document.addEventListener('click', (event) => {
    const link = event.target.closest('button.qa-doc-link');
    if (!link) return;
    const card = link.closest('.qa-card');
    const short = card && card.querySelector('.qa-short');
    const answer = card && card.querySelector('mark.qa-hl');
    window.qaDocShown = link.value;
    window.qaDocRequest = JSON.stringify({passage: link.value, answer: answer ? answer.textContent : '',
                                          short: short ? short.textContent : ''});
    document.querySelector('#qa-doc-open').click();
  });
}
"""


@dataclass(frozen=True)
class RenderedDocument:
    """A document rendered once: its HTML and, per passage, where its paragraph element lies in that HTML."""

    doc_id: str
    title: str
    html: str
    spans: dict[str, tuple[int, int]]
    passages: dict[str, Passage]

    def showing(self, passage_id: str, answer: str = "", short: str = "") -> str:
        """Return the document's HTML with one passage highlighted (its answer sentence and short answer marked).

        Args:
            passage_id: The passage to show.
            answer: Its answer sentence (marked when it occurs in the passage).
            short: The short answer (marked inside, when given).

        Returns:
            Safe HTML; the passage's paragraph has the class ``qa-doc-current``.
        """
        start, end = self.spans[passage_id]
        passage = self.passages[passage_id]
        current = _paragraph(passage, highlight(passage.text, answer, [short] if short else []), current=True)
        return self.html[:start] + current + self.html[end:]


def _paragraph(passage: Passage, inner: str, current: bool = False) -> str:
    classes = "qa-doc-p qa-doc-current" if current else "qa-doc-p"
    return f'<p class="{classes}" id="qa-p-{html.escape(passage.passage_id)}">{inner}</p>'


def render_document(doc_id: str, passages: list[Passage]) -> RenderedDocument:
    """Render a whole document from its passages: the title, a heading wherever the section changes, and one
    paragraph per passage, in document order.

    Args:
        doc_id: The document's id (its file, relative to the corpus).
        passages: Its passages (any order; sorted by position).

    Returns:
        The rendered document.
    """
    ordered = sorted(passages, key=lambda passage: passage.position)
    title = ordered[0].title if ordered else doc_id
    parts = [f'<div class="qa-doc"><div class="qa-doc-file">{html.escape(doc_id)} · {len(ordered)} 段</div>'
             f'<div class="qa-doc-body"><h1 class="qa-doc-title">{html.escape(title)}</h1>']
    length = sum(map(len, parts))
    spans, section = {}, ""
    for passage in ordered:
        if passage.section and passage.section != section:
            heading = f'<h2 class="qa-doc-heading">{html.escape(passage.section)}</h2>'
            parts.append(heading)
            length += len(heading)
        section = passage.section
        paragraph = _paragraph(passage, html.escape(passage.text))
        spans[passage.passage_id] = (length, length + len(paragraph))
        parts.append(paragraph)
        length += len(paragraph)
    parts.append("</div></div>")
    return RenderedDocument(doc_id, title, "".join(parts), spans, {p.passage_id: p for p in ordered})


def missing_passage() -> str:
    """Say that a card's passage is no longer in the index (it was rebuilt since the reply).

    Returns:
        Safe HTML.
    """
    return ('<div class="qa-doc qa-doc-missing">这段文字已不在当前索引中（索引已重建），请重新提问。'
            "The passage is no longer in the index (it was rebuilt since this reply); ask again.</div>")


class DocumentViews:
    """Rendered documents of the index in use, each rendered once and kept (the most recently used
    :data:`CACHED_DOCUMENTS`); a new index build starts afresh."""

    def __init__(self, capacity: int = CACHED_DOCUMENTS):
        """Start with nothing rendered.

        Args:
            capacity: How many rendered documents to keep.
        """
        self.capacity = capacity
        self.renders = 0
        self._lock = threading.Lock()
        self._index_key: object = None
        self._by_passage: dict[str, Passage] = {}
        self._by_document: dict[str, list[Passage]] = {}
        self._rendered: OrderedDict[str, RenderedDocument] = OrderedDict()

    def _use(self, index) -> None:
        """Switch to an index (a new build drops what was rendered from the old one)."""
        key = (str(index.path), len(index.passages))
        if key == self._index_key:
            return
        self._index_key, self._rendered = key, OrderedDict()
        self._by_passage = {passage.passage_id: passage for passage in index.passages}
        self._by_document = {}
        for passage in index.passages:
            self._by_document.setdefault(passage.doc_id, []).append(passage)

    def document(self, index, doc_id: str) -> RenderedDocument | None:
        """Return a document of the index, rendered (only the first time it is asked for).

        Args:
            index: The :class:`qa.index.Index` in use.
            doc_id: The document's id.

        Returns:
            The rendered document, or None when the index has no such document.
        """
        with self._lock:
            self._use(index)
            if doc_id in self._rendered:
                self._rendered.move_to_end(doc_id)
                return self._rendered[doc_id]
            if doc_id not in self._by_document:
                return None
            rendered = render_document(doc_id, self._by_document[doc_id])
            self.renders += 1
            self._rendered[doc_id] = rendered
            while len(self._rendered) > self.capacity:
                self._rendered.popitem(last=False)
            return rendered

    def show(self, index, passage_id: str, answer: str = "", short: str = "") -> str:
        """Return the HTML of the document holding a passage, with that passage highlighted.

        Args:
            index: The :class:`qa.index.Index` in use.
            passage_id: The passage a card cites.
            answer: The card's answer sentence.
            short: The card's short answer, if it has one.

        Returns:
            Safe HTML (a short message when the passage is not in the index).
        """
        with self._lock:
            self._use(index)
            passage = self._by_passage.get(passage_id)
        rendered = self.document(index, passage.doc_id) if passage else None
        if rendered is None:
            return missing_passage()
        return rendered.showing(passage_id, answer, short)
