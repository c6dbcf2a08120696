"""The reader's training runs: a smoke test trains on 20 written examples and the loss falls; a checkpoint resumes; the
shipped int8 reader is recovered as a float network that matches it; listed sibling negatives are left out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

TRAINING = Path(__file__).resolve().parents[2] / "training"


@pytest.fixture(scope="module")
def train_reader():
    sys.path.insert(0, str(TRAINING))
    import train_reader

    yield train_reader
    sys.path.remove(str(TRAINING))


def test_twenty_examples_and_the_loss_falls(train_reader, tmp_path):
    state = train_reader.main(["--stage", "written", "--limit", "20", "--epochs", "6", "--batch", "4",
                               "--out", str(tmp_path / "run"), "--save-every", "1000"])
    losses = state["losses"]
    assert len(losses) >= 24
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert (tmp_path / "run" / "reader.safetensors").exists()


def test_a_run_resumes_from_its_checkpoint(train_reader, tmp_path):
    run = tmp_path / "run"
    first = train_reader.main(["--stage", "written", "--limit", "8", "--epochs", "1", "--batch", "4", "--out", str(run)])
    resumed = train_reader.main(["--stage", "written", "--limit", "8", "--epochs", "2", "--batch", "4", "--out", str(run)])
    assert resumed["step"] == 2 * first["step"]
    assert resumed["losses"][: first["step"]] == first["losses"]
    assert json.loads((run / "state.json").read_text())["step"] == resumed["step"]


def test_the_shipped_reader_is_recovered_for_training(train_reader):
    import recover_reader

    model = recover_reader.recover(recover_reader.PACKAGE, train_reader.DEFAULT_BASE)
    assert recover_reader.largest_difference(model, recover_reader.PACKAGE) < 0.5


def test_listed_sibling_negatives_are_left_out_of_training(train_reader, tmp_path):
    import reader_data

    examples = reader_data.written_examples("train", "local-0*.jsonl")
    sibling = next(e for e in examples if e.kind == "sibling")
    question, digest = reader_data.pair_key(sibling.question, sibling.context)
    listed = tmp_path / "dropped.jsonl"
    listed.write_text(json.dumps({"question": question, "context_sha1": digest}, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    kept = reader_data.written_examples("train", "local-0*.jsonl", reader_data.pair_keys(listed))
    assert sibling in examples and sibling not in kept
    assert len(kept) == len(examples) - examples.count(sibling)
    assert reader_data.pair_keys(None) == frozenset()
