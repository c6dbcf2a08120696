"""The threshold choice of benchmarks/calibrate.py (Youden's J on held-out question files), on made-up evidence."""

import math

import numpy as np

from benchmarks.calibrate import Examples, best_threshold, declined


def _examples(evidence: dict[float, bool], by_rule: tuple[float, ...] = ()) -> Examples:
    """Examples whose evidence (with intercept 0 and weights (1, 0, 0)) takes the given values."""
    examples = Examples("made-up")
    for value, answerable in evidence.items():
        examples.features.append((math.log(value / (1 - value)), 0.0, 0.0))
        examples.answerable.append(answerable)
        examples.by_rule.append(value in by_rule)
    return examples


WEIGHTS = np.array([1.0, 0.0, 0.0])


def test_the_threshold_is_the_lowest_that_declines_the_unanswerable_and_answers_the_rest():
    examples = _examples({0.12: False, 0.17: False, 0.22: True, 0.6: True, 0.9: True})
    threshold, youden = best_threshold([examples], 0.0, WEIGHTS)
    assert threshold == 0.2
    assert youden == 1.0
    assert declined(examples, 0.0, WEIGHTS, threshold) == (0.0, 1.0)


def test_a_question_declined_by_rule_does_not_pull_the_threshold_up():
    examples = _examples({0.12: False, 0.95: False, 0.3: True, 0.9: True}, by_rule=(0.95,))
    threshold, youden = best_threshold([examples], 0.0, WEIGHTS)
    assert threshold == 0.15
    assert youden == 1.0


def test_the_mean_j_over_sets_decides():
    many = _examples({0.1 + 0.01 * i: False for i in range(20)} | {0.5: True})
    few = _examples({0.05: False, 0.12: True, 0.6: True})
    threshold, youden = best_threshold([many, few], 0.0, WEIGHTS)
    # 0.30 declines every unanswerable question of `many` (J 1) and one of the answerable ones of `few` (J .5)
    assert threshold == 0.3
    assert youden == 0.75
