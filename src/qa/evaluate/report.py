"""Writing an evaluation: ``results.jsonl``, ``summary.json``, ``report.md`` and a hit@k chart."""

from __future__ import annotations

import json
from pathlib import Path

from qa.config import QAError
from qa.evaluate.metrics import HIT_KS, RANKING_METRICS, Record, relevance
from qa.evaluate.runner import Evaluation

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
REPORT = "report.md"
CHART = "hit_at_k.png"
COLUMNS = ("n", *RANKING_METRICS, "answer@1", "em", "f1", "declined_unanswerable", "declined_answerable",
           "latency_p50_ms", "latency_p95_ms")
SNIPPET_CHARS = 80


def cell(value) -> str:
    """Format one figure for a table: fractions with 3 decimals, milliseconds with 1, counts as they are.

    Args:
        value: An int, a float or None.

    Returns:
        The text of the cell ("–" for None).
    """
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if value <= 1 else f"{value:.1f}"


def summary_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Lay out the comparison table, one row per metric and one column per retriever (for ``report.md`` and the
    terminal).

    Args:
        summary: The evaluation summary.

    Returns:
        The header and the rows.
    """
    retrievers = summary["retrievers"]
    metrics = [m for m in COLUMNS if any(m in figures for figures in retrievers.values())]
    return ["metric", *retrievers], [[m, *(cell(figures.get(m)) for figures in retrievers.values())] for m in metrics]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _kind_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    retrievers = summary["retrievers"]
    kinds = list(next(iter(retrievers.values())).get("by_kind", {}))
    header = ["kind", "n", *[f"{name} hit@1" for name in retrievers], *[f"{name} mrr@10" for name in retrievers]]
    rows = []
    for kind in kinds:
        groups = [figures["by_kind"][kind] for figures in retrievers.values()]
        row = [kind, cell(groups[0]["n"] or groups[0]["n_unanswerable"])]
        if groups[0]["n"]:
            row += [cell(g["hit@1"]) for g in groups] + [cell(g["mrr@10"]) for g in groups]
        else:
            row += [f"declined {cell(g.get('declined_unanswerable'))}" for g in groups] + ["–"] * len(groups)
        rows.append(row)
    return header, rows


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"


def _miss(record: Record) -> str | None:
    """Describe a question whose first result is not relevant (None when it is)."""
    flags = relevance(record)
    if flags and flags[0]:
        return None
    first = next((rank for rank, relevant in enumerate(flags, 1) if relevant), None)
    found = f"first relevant at #{first}" if first else f"not in the top {len(flags)}"
    gold = " / ".join(record.question.answers) or ", ".join(sorted(record.question.relevant_docs))
    top = record.results[0] if record.results else None
    instead = f"`{top['doc_id']}` ¶ {_short(top['answer'])}" if top else "no result"
    kind = f" [{record.question.kind}]" if record.question.kind else ""
    return f"- **{record.question.id}**{kind} {record.question.question} — gold: {gold} — {found}; came first: {instead}"


def _misjudged(record: Record) -> str | None:
    if record.answerable == record.question.answerable:
        return None
    said = "answered" if record.answerable else "declined"
    return f"- **{record.question.id}** {record.question.question} — {said}, expected " \
           f"{'an answer' if record.question.answerable else 'to decline'}"


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"### {title} ({len(lines)})", "", *(lines or ["None."]), ""]


def render_report(evaluation: Evaluation) -> str:
    """Write the Markdown report: summary table, comparison by kind, chart, every miss and misjudgement.

    Args:
        evaluation: The finished evaluation.

    Returns:
        The Markdown text.
    """
    summary = evaluation.summary
    lines = [f"# qa eval — {evaluation.question_set.name}", "",
             f"Set `{summary['set']}` · model `{summary['model']}` · top-k {summary['top_k']} · "
             f"{summary['questions']} questions · {summary['skipped_lines']} skipped lines", "",
             "## Summary", "", *_table(*summary_rows(summary)), "",
             "hit@k, mrr@10, ndcg@10 and answer@1 are averaged over the answerable questions (n); declined_* are the "
             "fractions of unanswerable / answerable questions the system declined; latency per question in ms.", ""]
    if any("by_kind" in figures for figures in summary["retrievers"].values()):
        lines += ["## By kind", "", *_table(*_kind_rows(summary)), ""]
    lines += ["## hit@k per retriever", "", f"![hit@k]({CHART})", "", "## Missed questions", "",
              "A miss: the first result does not contain a gold answer (nor is a judged passage).", ""]
    for name, records in evaluation.records.items():
        misses = [m for m in (_miss(r) for r in records if r.question.answerable) if m]
        misjudged = [m for m in (_misjudged(r) for r in records) if m]
        lines += _section(f"{name}: missed at rank 1", misses)
        lines += _section(f"{name}: answerable judged wrongly", misjudged)
    return "\n".join(lines)


def draw_chart(summary: dict, path: Path) -> None:
    """Draw hit@1/3/5/10 per retriever as grouped bars.

    Args:
        summary: The evaluation summary.
        path: The PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["retrievers"])
    width = 0.8 / len(names)
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    for offset, name in enumerate(names):
        values = [summary["retrievers"][name][f"hit@{k}"] or 0.0 for k in HIT_KS]
        positions = [i + (offset - (len(names) - 1) / 2) * width for i in range(len(HIT_KS))]
        bars = axes.bar(positions, values, width, label=name)
        axes.bar_label(bars, fmt="%.3f", fontsize=7)
    axes.set_xticks(range(len(HIT_KS)), [f"hit@{k}" for k in HIT_KS])
    axes.set_ylim(0, 1.08)
    axes.set_ylabel("fraction of answerable questions")
    axes.set_title(f"hit@k, n = {summary['n']}, model {summary['model']}")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(names), frameon=False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_outputs(evaluation: Evaluation, out_dir: Path) -> list[Path]:
    """Write ``results.jsonl``, ``summary.json``, ``report.md`` and the chart into a folder.

    Args:
        evaluation: The finished evaluation.
        out_dir: The folder (created if needed).

    Returns:
        The files written.

    Raises:
        QAError: If the folder cannot be written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / name for name in (RESULTS, SUMMARY, REPORT, CHART)]
        with paths[0].open("w", encoding="utf-8") as results:
            for records in evaluation.records.values():
                for record in records:
                    results.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        paths[1].write_text(json.dumps(evaluation.summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths[2].write_text(render_report(evaluation) + "\n", encoding="utf-8")
        draw_chart(evaluation.summary, paths[3])
    except OSError as error:
        raise QAError(f"Cannot write the evaluation into {out_dir}: {error.strerror or error}.") from error
    return paths
