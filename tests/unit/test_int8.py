"""The onnx-int8 backend's parts that need no model: the backend setting, mean pooling, refusing a model it cannot
run. (Real model against float32: tests/e2e/test_int8.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from qa.config import QAError, Settings
from qa.embedding.onnx_int8 import supported_transformer
from qa.embedding.pooling import mean_pool


def test_backend_setting_is_checked():
    assert Settings(backend="onnx-int8").backend == "onnx-int8"
    with pytest.raises(ValidationError):
        Settings(backend="tensorrt")


def test_mean_pooling_ignores_padding():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(1, 3, 4)).astype(np.float32)
    padded = np.concatenate([hidden, rng.normal(size=(1, 2, 4)).astype(np.float32)], axis=1)
    alone = mean_pool(hidden, np.ones((1, 3), dtype=np.int64))
    with_padding = mean_pool(padded, np.array([[1, 1, 1, 0, 0]]))
    assert np.allclose(alone, with_padding, atol=1e-6)
    assert np.allclose(alone, hidden.mean(axis=1) / np.linalg.norm(hidden.mean(axis=1)), atol=1e-6)


def test_models_without_mean_pooling_are_refused():
    class Transformer:
        pass

    class Pooling:
        pooling_mode = "cls"

    with pytest.raises(QAError, match="QA_BACKEND=torch"):
        supported_transformer([Transformer(), Pooling()], "some/model")
