"""The Gradio page, its event handlers, the ``/ask`` and ``/feedback`` API endpoints and ``serve``."""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import os
from pathlib import Path

from qa.config import QAError, Settings
from qa.search import Searcher
from qa.web.followup import contextualize
from qa.web.document_view import DOCUMENT_CSS, DOCUMENT_JS, DocumentViews, missing_passage
from qa.web.holder import SearcherHolder
from qa.web.render import CSS, render_answer, render_error, render_index_info
from qa.web.uploads import UPLOAD_SUFFIXES, UploadOutcome, save_uploads
from qa.web.verdicts import Verdicts, remember

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (after the analytics switch)

log = logging.getLogger(__name__)

EXAMPLES = [
    "2020年全年签约了多少个项目？",
    "2020年地区生产总值是多少？",
    "全年累计巡河多少轮次？",
    "2021年在乡村振兴方面有哪些打算？",
    "2020年全年簽約了多少個項目？",
]
MAX_TOP_K = 10
NOT_ALLOWED = ("只能在本机或登录后修改索引。"
               "Rebuilding and adding documents are allowed from this machine, or for a signed-in user with --auth.")


def passages_per_document(searcher: Searcher) -> dict[str, int]:
    """Count the passages of each document in an index.

    Args:
        searcher: The searcher whose index is counted.

    Returns:
        doc_id → number of passages.
    """
    counts: dict[str, int] = {}
    for passage in searcher.index.passages:
        counts[passage.doc_id] = counts.get(passage.doc_id, 0) + 1
    return counts


def may_rebuild(request: gr.Request | None, auth_enabled: bool) -> bool:
    """Tell whether a request may rebuild the index: a signed-in user when auth is on, else only from loopback.

    Args:
        request: The Gradio request.
        auth_enabled: Whether the server was started with ``--auth``.

    Returns:
        True when the rebuild is allowed.
    """
    if request is None:
        return False
    if auth_enabled:
        return bool(getattr(request, "username", None))
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ChatApp:
    """The page's event handlers over one :class:`SearcherHolder`."""

    def __init__(self, holder: SearcherHolder, auth_enabled: bool = False):
        """Bind the handlers to a searcher holder.

        Args:
            holder: The searcher holder.
            auth_enabled: Whether sign-in is required (then any signed-in user may rebuild).
        """
        self.holder = holder
        self.auth_enabled = auth_enabled
        self.documents = DocumentViews()
        self.verdicts = Verdicts(holder)
        self._counts = (None, {})

    def _passage_counts(self) -> dict[str, int]:
        searcher = self.holder.searcher
        if self._counts[0] is not searcher:
            self._counts = (searcher, passages_per_document(searcher))
        return self._counts[1]

    def reply(self, question: str, previous: str | None, top_k: int | None,
              docs: list[str] | None = None) -> tuple[str, str | None, dict | None]:
        """Answer one chat message.

        Args:
            question: What the user typed.
            previous: The previous question as searched (for follow-ups), or None.
            top_k: Passages to show.
            docs: Document ids to search (default: all).

        Returns:
            The reply's HTML, the question to remember for the next follow-up, and what the reply showed (for a
            verdict on it; None for an error).
        """
        try:
            searched = contextualize(question, previous)
            searcher = self.holder.searcher
            answer = self.holder.ask(searched, top_k, docs)
        except QAError as error:
            return render_error(str(error)), previous, None
        asked = question.strip() if searched != question else None
        shown = remember(answer, searcher.index)
        return render_answer(answer, asked=asked, total=self._passage_counts()), answer.question, shown

    def respond(self, message: str, history: list[dict] | None, previous: str | None, top_k: float | None,
                docs: list[str] | None = None, judged: dict | None = None):
        """Chat handler: show the question at once, then the reply.

        Args:
            message: The textbox's text.
            history: The chat so far (messages format).
            previous: The previous question as searched.
            top_k: The slider's value.
            docs: The documents selected (none selected: all).
            judged: What each reply showed, by message index (for 👍/👎).

        Yields:
            (textbox value, chat history, previous question, replies by message index).
        """
        history = list(history or [])
        judged = dict(judged or {})
        history.append({"role": "user", "content": html.escape(message or "")})
        yield "", history, previous, judged
        content, previous, shown = self.reply(message or "", previous, int(top_k) if top_k else None, docs)
        if shown is not None:
            judged[len(history)] = shown
        history.append({"role": "assistant", "content": content})
        yield "", history, previous, judged

    def show_document(self, request: str | None) -> tuple[str, dict]:
        """Open the document view at a card's passage (the page's script sends the card's passage and answer).

        Args:
            request: JSON ``{"passage", "answer", "short"}``.

        Returns:
            The document's HTML with the passage highlighted, and an update that shows the view.
        """
        try:
            wanted = json.loads(request or "")
            passage = str(wanted["passage"])
        except (ValueError, TypeError, KeyError):
            return missing_passage(), gr.update(visible=True)
        shown = self.documents.show(self.holder.searcher.index, passage, str(wanted.get("answer") or ""),
                                    str(wanted.get("short") or ""))
        return shown, gr.update(visible=True)

    def api_ask(self, question: str, top_k: int | None = None) -> dict:
        """Answer a question; the result is the ``qa ask --json`` object of docs/contracts.md.

        Args:
            question: The question, e.g. 2020年全年签约了多少个项目？
            top_k: How many passages to return (default: the configured number).

        Returns:
            {"question", "answerable", "results": [{"rank", "score", "doc_id", "passage_id", "title", "section",
            "text", "answer"}]}
        """
        try:
            return self.holder.ask(question, top_k).to_dict()
        except QAError as error:
            raise gr.Error(str(error), print_exception=False) from None

    def index_panel(self) -> tuple[str, dict]:
        """Render the index panel and the document choices for the current index.

        Returns:
            The panel's HTML and an update of the document selector.
        """
        return render_index_info(self.holder.info()), self.document_choices()

    def document_choices(self) -> dict:
        """Offer the current index's documents in the selector, as "title (file)".

        Returns:
            A Gradio update of the selector's choices.
        """
        documents = self.holder.searcher.documents()
        return gr.update(choices=[(f"{title} ({doc})", doc) for doc, title in documents])

    def rebuild(self, request: gr.Request) -> str:
        """Rebuild the index (loopback or signed-in users only) and swap in the new searcher.

        Args:
            request: The Gradio request (for the client address and user name).

        Returns:
            The index panel's HTML with the outcome.
        """
        if not may_rebuild(request, self.auth_enabled):
            return render_index_info(self.holder.info(), NOT_ALLOWED)
        return self._rebuilt("")

    def _rebuilt(self, before: str) -> str:
        """Rebuild and render the panel with ``before`` followed by the outcome."""
        try:
            info = self.holder.rebuild()
        except QAError as error:
            return render_index_info(self.holder.info(), f"{before}重建失败 / rebuild failed: {error}")
        changes = self.holder.searcher.index.manifest.get("changes", {})
        counts = ", ".join(f"{changes[key]} {key}" for key in ("added", "changed", "removed", "reused") if key in changes)
        return render_index_info(info, f"{before}索引已重建。The index was rebuilt ({counts}).")

    def upload(self, files: list[str] | None, request: gr.Request) -> str:
        """Add uploaded documents to the corpus and rebuild (loopback or signed-in users only).

        Args:
            files: Paths of the uploaded files.
            request: The Gradio request.

        Returns:
            The index panel's HTML with what was added, what was refused and the rebuild's outcome.
        """
        if not may_rebuild(request, self.auth_enabled):
            return render_index_info(self.holder.info(), NOT_ALLOWED)
        files = [files] if isinstance(files, str) else list(files or [])
        outcome = save_uploads(files, self.holder.corpus_dir, self.holder.settings.max_upload_mb)
        summary = upload_summary(outcome)
        if not outcome.saved:
            return render_index_info(self.holder.info(), summary or "没有选择文件。No file was chosen.")
        return self._rebuilt(summary)


def upload_summary(outcome: UploadOutcome) -> str:
    """Say which uploaded files were added and which refused (and why).

    Args:
        outcome: The result of :func:`~qa.web.uploads.save_uploads`.

    Returns:
        One line of text (empty when there were no files).
    """
    parts = [f"已添加 added: {', '.join(outcome.saved)}. "] if outcome.saved else []
    parts += [f"未添加 refused {name}: {why} " for name, why in outcome.rejected]
    return "".join(parts)


def build_app(holder: SearcherHolder, auth_enabled: bool = False) -> gr.Blocks:
    """Build the Gradio page.

    Args:
        holder: The searcher holder.
        auth_enabled: Whether the server requires sign-in.

    Returns:
        The Blocks app (not launched).
    """
    chat = ChatApp(holder, auth_enabled)
    default_k = min(holder.settings.top_k, MAX_TOP_K)
    with gr.Blocks(title="qa · 文档问答") as demo:
        gr.Markdown("## 文档问答 · Ask the documents\n在下方输入问题，回答会给出原文段落并高亮答案句。")
        previous, judged, pending = gr.State(None), gr.State({}), gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(elem_id="qa-chat", height=620, render_markdown=False, sanitize_html=True,
                                     latex_delimiters=[], allow_tags=False, feedback_options=("Like", "Dislike"),
                                     show_label=False, placeholder="问一个关于文档的问题 · Ask about the documents")
                with gr.Row():
                    box = gr.Textbox(elem_id="qa-question", placeholder="例如：2020年全年签约了多少个项目？",
                                     show_label=False, scale=5, lines=1, max_lines=3, autofocus=True)
                    send = gr.Button("提问 Ask", variant="primary", scale=1, elem_id="qa-send")
                feedback_status = gr.HTML(elem_id="qa-feedback-status")
                with gr.Column(visible=False, elem_id="qa-correction", variant="panel") as correction_box:
                    gr.Markdown("**回答不对？** 可以告诉我们正确答案（可不填）。"
                                "Wrong? You may give the right answer (optional).")
                    with gr.Row():
                        correction = gr.Textbox(label="正确答案 The right answer", elem_id="qa-correction-text",
                                                scale=3, lines=1, max_lines=3)
                        correct_card = gr.Radio([], label="或：答对的卡片 Or: the card that answered",
                                                elem_id="qa-correction-card", scale=2)
                    with gr.Row():
                        send_correction = gr.Button("提交 Send", variant="primary", size="sm",
                                                    elem_id="qa-correction-send")
                        not_in_documents = gr.Button("不在资料中 Not in the documents", size="sm",
                                                     elem_id="qa-not-in-documents")
                        skip_correction = gr.Button("跳过 Skip", size="sm", elem_id="qa-correction-skip")
                clear = gr.Button("清空对话 Clear", elem_id="qa-clear", size="sm")
            with gr.Column(scale=1, min_width=260):
                top_k = gr.Slider(1, MAX_TOP_K, value=default_k, step=1, label="显示段落数 Passages shown",
                                  elem_id="qa-top-k")
                docs = gr.Dropdown([], value=[], multiselect=True, elem_id="qa-docs",
                                   label="只在这些文档中查找 Search in (empty: all documents)")
                gr.Markdown("**示例问题 Examples**")
                example_buttons = [gr.Button(text, size="sm", elem_classes=["qa-example"]) for text in EXAMPLES]
                with gr.Accordion("索引 Index", open=True):
                    panel = gr.HTML(elem_id="qa-index")
                    rebuild = gr.Button("重建索引 Rebuild index", size="sm", elem_id="qa-rebuild")
                    uploads = gr.File(file_count="multiple", file_types=list(UPLOAD_SUFFIXES), type="filepath",
                                      label=f"添加文档 Add documents ({', '.join(UPLOAD_SUFFIXES)}, "
                                            f"≤ {holder.settings.max_upload_mb:g} MB)", elem_id="qa-upload")
                    add = gr.Button("添加并重建 Add and rebuild", size="sm", elem_id="qa-add")
        with gr.Column(visible=False, elem_id="qa-docpanel") as document_panel:
            with gr.Row():
                gr.Markdown("**原文 · Document**")
                close_document = gr.Button("关闭 Close ✕", size="sm", elem_id="qa-doc-close", scale=0)
            document_view = gr.HTML(elem_id="qa-docview")
        document_request = gr.Textbox(visible="hidden", elem_id="qa-doc-request")
        open_document = gr.Button("open", visible="hidden", elem_id="qa-doc-open")
        outputs = [box, chatbot, previous, judged]
        inputs = [chatbot, previous, top_k, docs, judged]
        box.submit(chat.respond, [box, *inputs], outputs, api_visibility="private")
        send.click(chat.respond, [box, *inputs], outputs, api_visibility="private")
        for button in example_buttons:
            button.click(chat.respond, [button, *inputs], outputs, api_visibility="private")
        clear.click(lambda: ("", [], None, {}, "", gr.update(visible=False), None), None,
                    [*outputs, feedback_status, correction_box, pending], api_visibility="private")
        boxed = [feedback_status, correction_box, pending]
        chatbot.like(chat.verdicts.judge, judged, [*boxed, correct_card], api_visibility="private")
        send_correction.click(chat.verdicts.correct, [judged, pending, correction, correct_card],
                              [*boxed, correction, correct_card], api_visibility="private")
        not_in_documents.click(chat.verdicts.not_in_documents, [judged, pending], [*boxed, correction, correct_card],
                               api_visibility="private")
        skip_correction.click(lambda: (gr.update(visible=False), None), None, [correction_box, pending],
                              api_visibility="private")
        open_document.click(chat.show_document, document_request, [document_view, document_panel],
                            js="(request) => window.qaDocRequest || request", api_visibility="private").then(
            None, None, None, js="() => window.qaScrollToPassage()", api_visibility="private")
        close_document.click(lambda: gr.update(visible=False), None, document_panel, api_visibility="private")
        rebuild.click(chat.rebuild, None, panel, api_visibility="private", concurrency_limit=1,
                      concurrency_id="rebuild").then(chat.document_choices, None, docs, api_visibility="private")
        add.click(chat.upload, uploads, panel, api_name="upload", api_visibility="undocumented", concurrency_limit=1,
                  concurrency_id="rebuild").then(lambda: None, None, uploads, api_visibility="private").then(
            chat.document_choices, None, docs, api_visibility="private")
        demo.load(chat.index_panel, None, [panel, docs], api_visibility="private")
        gr.api(chat.api_ask, api_name="ask")
        gr.api(chat.verdicts.api_feedback, api_name="feedback", concurrency_limit=4, concurrency_id="feedback")
    return demo


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """Split a ``USER:PASS`` option.

    Args:
        auth: The option's value, or None.

    Returns:
        (user, password), or None when no sign-in is wanted.

    Raises:
        QAError: If the value is not of the form USER:PASS.
    """
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise QAError("--auth takes USER:PASS, e.g. --auth admin:s3cret")
    return user, password


def serve(settings: Settings, host: str | None = None, port: int | None = None, index_dir: Path | None = None,
          auth: str | None = None) -> None:
    """Load the index and run the web chat until interrupted (no public share link).

    Args:
        settings: The settings.
        host: Address to bind (default: the configured one, 127.0.0.1).
        port: Port (default: the configured one, 7860).
        index_dir: The index folder (default: the configured one).
        auth: ``USER:PASS`` to require sign-in.

    Raises:
        QAError: If the index cannot be used or the options are wrong.
    """
    credentials = parse_auth(auth)
    host = host or settings.host
    holder = SearcherHolder(settings, index_dir)
    demo = build_app(holder, auth_enabled=credentials is not None)
    if credentials is None and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("Serving on %s without --auth: anyone who can reach it can ask questions.", host)
    demo.queue(default_concurrency_limit=2).launch(
        server_name=host, server_port=port or settings.port, auth=credentials, share=False, css=CSS + DOCUMENT_CSS,
        js=DOCUMENT_JS, theme=gr.themes.Default(), show_error=False, footer_links=["api"], run_history=False,
        max_file_size=int(settings.max_upload_mb * 1024 * 1024))
