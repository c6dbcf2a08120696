"""The web chat: a Gradio app over one :class:`~qa.search.Searcher`.

The page has a chat (each reply: the answer sentence, then the top passages as cards with the answering sentence
highlighted and the question's words marked), clickable examples, a clear button, a top-k slider and an index panel
with a rebuild button. ``gr.api(..., api_name="ask")`` serves the ``qa ask --json`` object of DESIGN.md.

Everything from the corpus or the user is HTML-escaped here and the chatbot renders HTML without Markdown, so a
passage holding ``<script>`` or ``**bold**`` shows literally.

Follow-up questions: a short, elliptical question ("那2021年呢？") is read in the context of the previous question
(see :func:`contextualize`); the interpretation is shown in the reply so the user can see what was searched.

Modules: ``holder`` (the one searcher, swappable after a rebuild) → ``followup`` and ``render`` (no Gradio) →
``app`` (the page, the ``/ask`` endpoint, ``serve``).
"""

from __future__ import annotations

from qa.web.app import EXAMPLES, ChatApp, build_app, may_rebuild, parse_auth, serve
from qa.web.followup import contextualize, is_follow_up
from qa.web.holder import IndexInfo, SearcherHolder
from qa.web.render import NOT_FOUND, certainty, confidence, highlight, render_answer, render_error, render_index_info

__all__ = ["EXAMPLES", "NOT_FOUND", "ChatApp", "IndexInfo", "SearcherHolder", "build_app", "certainty", "confidence",
           "contextualize", "highlight", "is_follow_up", "may_rebuild", "parse_auth", "render_answer",
           "render_error", "render_index_info", "serve"]
