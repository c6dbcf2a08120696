"""The reader network and how examples become its inputs (windows of question + passage tokens).

One BERT encoder (initialised from m3e-small) with two heads: ``span`` gives start and end logits per token (an
answer span inside the passage, SQuAD style, pointing at [CLS] when the window holds none) and ``verdict`` gives one
logit per window: does this window answer the question?
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoTokenizer, BertModel

MAX_TOKENS = 192
STRIDE = 64
MAX_QUESTION_TOKENS = 48


class Reader(nn.Module):
    """BERT + a span head and an answerability head."""

    def __init__(self, encoder: BertModel):
        super().__init__()
        hidden = encoder.config.hidden_size
        self.encoder = encoder
        self.span = nn.Linear(hidden, 2)
        self.verdict = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, input_ids, attention_mask, token_type_ids):
        """Start logits, end logits (batch × tokens) and the answer logit (batch) of each window."""
        states = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        start, end = self.span(states).unbind(-1)
        return start, end, self.verdict(states[:, 0]).squeeze(-1)


def load_base(model_dir: str) -> tuple[Reader, object]:
    """A fresh reader on the encoder weights in ``model_dir`` and its tokenizer."""
    encoder = BertModel.from_pretrained(model_dir, add_pooling_layer=False)
    return Reader(encoder), AutoTokenizer.from_pretrained(model_dir)


@dataclass
class Window:
    """One model input: token ids, the answer's token positions (0, 0 when none) and whether it answers."""

    input_ids: list[int]
    token_type_ids: list[int]
    start: int
    end: int
    answers: int
    example: int


def windows(tokenizer, examples, max_tokens: int = MAX_TOKENS, stride: int = STRIDE) -> list[Window]:
    """Cut every (question, context) example into windows and place its answer span in each.

    A window that does not hold the whole answer, and every window of an unanswerable example, points at [CLS].
    """
    questions = [_clip_question(tokenizer, e.question) for e in examples]
    encoded = tokenizer(
        questions, [e.context for e in examples], truncation="only_second", max_length=max_tokens, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )
    result = []
    for i, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        example = examples[example_index]
        start = end = 0
        if example.start >= 0:
            start, end = _token_span(
                encoded.sequence_ids(i), encoded["offset_mapping"][i], example.start,
                example.start + len(example.answer),
            )
        result.append(Window(
            encoded["input_ids"][i], encoded["token_type_ids"][i], start, end, int(start > 0), example_index,
        ))
    return result


def _clip_question(tokenizer, question: str) -> str:
    ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    return question if len(ids) <= MAX_QUESTION_TOKENS else tokenizer.decode(ids[:MAX_QUESTION_TOKENS]).replace(" ", "")


def _token_span(sequence_ids, offsets, char_start: int, char_end: int) -> tuple[int, int]:
    """Token positions of a character span inside the context part of a window, or (0, 0) if it is not all there."""
    context = [i for i, s in enumerate(sequence_ids) if s == 1]
    if not context or offsets[context[0]][0] > char_start or offsets[context[-1]][1] < char_end:
        return 0, 0
    start = next(i for i in context if offsets[i][1] > char_start)
    end = next(i for i in reversed(context) if offsets[i][0] < char_end)
    return start, end


def collate(batch: list[Window]) -> dict[str, torch.Tensor]:
    """Pad a list of windows into tensors."""
    width = max(len(w.input_ids) for w in batch)

    def padded(rows):
        return torch.tensor([row + [0] * (width - len(row)) for row in rows])

    return {
        "input_ids": padded([w.input_ids for w in batch]),
        "token_type_ids": padded([w.token_type_ids for w in batch]),
        "attention_mask": padded([[1] * len(w.input_ids) for w in batch]),
        "start": torch.tensor([w.start for w in batch]),
        "end": torch.tensor([w.end for w in batch]),
        "answers": torch.tensor([w.answers for w in batch], dtype=torch.float32),
    }
