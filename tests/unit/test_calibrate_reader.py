"""The threshold choice of benchmarks/calibrate_reader.py (the targets first, then Youden's J), on made-up readings."""

import math

import numpy as np

from benchmarks.calibrate_reader import Asked, best_threshold, meets_targets

IDENTITY = {"weights": [1.0, 0.0], "bias": 0.0}  # the probability is the logistic of the answer logit


def _asked(probability: float, answerable: bool) -> Asked:
    """A question whose one passage read has the given calibrated probability (and holds the answer if any)."""
    logit = math.log(probability / (1 - probability))
    return Asked(answerable, ("甲",) if answerable else (), np.array([0.5]), np.array([[logit, 0.0]]),
                 np.array([answerable]), ["甲" if answerable else ""])


def test_meets_targets_bounds_both_kinds_of_declining():
    assert meets_targets({"declined_answerable": 0.08, "declined_unanswerable": 0.80})
    assert not meets_targets({"declined_answerable": 0.09, "declined_unanswerable": 1.0})
    assert not meets_targets({"declined_answerable": 0.0, "declined_unanswerable": 0.79})
    assert meets_targets({"declined_answerable": 0.0})  # a set without unanswerable questions


def test_a_threshold_meeting_the_targets_beats_a_better_youden_that_misses_them():
    # 1 of 10 answerable at 0.3 and 2 of 10 unanswerable at 0.32: 0.35 declines everything unanswerable (J .9) but
    # 10 % of the answerable; from 0.03 to 0.3 none of the answerable and 80 % of the unanswerable (J .8) are declined.
    items = ([_asked(0.9, True)] * 9 + [_asked(0.3, True)]
             + [_asked(0.02, False)] * 8 + [_asked(0.32, False)] * 2)
    threshold, (met, j) = best_threshold([items], IDENTITY, ())
    assert met and j == 0.8 and 0.02 < threshold <= 0.3


def test_without_any_threshold_meeting_the_targets_the_best_youden_wins():
    items = [_asked(0.9, True)] * 8 + [_asked(0.3, True)] * 2 + [_asked(0.32, False)] * 10
    threshold, (met, j) = best_threshold([items], IDENTITY, ())
    assert not met and j == 0.8 and 0.32 < threshold <= 0.9
