"""The web chat: a Gradio app over one :class:`~qa.search.Searcher`.

The page has a chat (each reply: the answer sentence, then the top passages as cards with the answering sentence
highlighted and the question's words marked), clickable examples, a clear button, a top-k slider and an index panel
with a rebuild button. ``gr.api(..., api_name="ask")`` serves the ``qa ask --json`` object of docs/contracts.md.

Everything from the corpus or the user is HTML-escaped here and the chatbot renders HTML without Markdown, so a
passage holding ``<script>`` or ``**bold**`` shows literally.

Follow-up questions: a short, elliptical question ("那2021年呢？") is read in the context of the previous question
(see :func:`contextualize`); the interpretation is shown in the reply so the user can see what was searched.

Each card has 在原文中查看 / Show in document: the whole document opens beside the chat, scrolled to the passage,
which is highlighted with its answer sentence (each document rendered once per index build). Each reply has 👍 / 👎;
after 👎 a box takes the right answer, 不在资料中, or the card that answered; ``/feedback`` takes verdicts from
programs. Verdicts go to ``QA_FEEDBACK_FILE`` (docs/feedback.md).

Modules: ``holder`` (the one searcher, swappable after a rebuild) → ``followup``, ``render`` and ``document_view``
(no Gradio) → ``verdicts`` (👍/👎, corrections, ``/feedback``) → ``app`` (the page, the ``/ask`` endpoint,
``serve``).
"""

from __future__ import annotations

from qa.web.app import EXAMPLES, ChatApp, build_app, may_rebuild, parse_auth, serve
from qa.web.document_view import DocumentViews, RenderedDocument, render_document
from qa.web.followup import contextualize, is_follow_up
from qa.web.holder import IndexInfo, SearcherHolder
from qa.web.render import (NOT_FOUND, SHOW_IN_DOCUMENT, certainty, confidence, highlight, render_answer, render_error,
                           render_index_info)

__all__ = ["EXAMPLES", "NOT_FOUND", "SHOW_IN_DOCUMENT", "ChatApp", "DocumentViews", "IndexInfo", "RenderedDocument",
           "SearcherHolder", "build_app", "certainty", "confidence", "contextualize", "highlight", "is_follow_up",
           "may_rebuild", "parse_auth", "render_answer", "render_document", "render_error", "render_index_info",
           "serve"]
