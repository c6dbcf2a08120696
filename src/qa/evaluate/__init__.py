"""Evaluation of question sets (``qa eval``): reading sets, running them, metrics and reports.

``questions`` reads JSONL, CSV and BEIR sets; ``runner`` picks the index and runs each retriever; ``metrics``
scores the replies (ranx for the ranking measures); ``report`` writes results, summary, Markdown and chart.
"""

from qa.evaluate.metrics import Record, contains_answer, relevance, score_retriever
from qa.evaluate.questions import Question, QuestionSet, load_question_set
from qa.evaluate.report import render_report, summary_rows, write_outputs
from qa.evaluate.runner import Evaluation, choose_retrievers, evaluate, open_for_set

__all__ = [
    "Evaluation", "Question", "QuestionSet", "Record", "choose_retrievers", "contains_answer", "evaluate",
    "load_question_set", "open_for_set", "relevance", "render_report", "score_retriever", "summary_rows",
    "write_outputs",
]
