"""Reading profile literals: the fast split, the literal-only fallback, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.generate import _distribution


def test_integer_keys_are_sorted_values_with_their_probabilities() -> None:
    dist = _distribution("input_tokens", "{30: 0.25, 2: 0.75}")
    np.testing.assert_array_equal(dist.values, [2.0, 30.0])
    np.testing.assert_array_equal(dist.probs, [0.75, 0.25])


def test_reason_ratio_maps_list_index_to_a_grid() -> None:
    dist = _distribution("reason_ratio", "{0.0: 0.0, 0.5: 1e-05, 1.0: 0.99999}")
    np.testing.assert_array_equal(dist.values, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(dist.probs, [0.0, 1e-05, 0.99999])


def test_other_literals_fall_back_to_literal_eval_and_code_is_refused() -> None:
    dist = _distribution("output_tokens", "{1: 0.5, 2: 5e-1}")
    assert dist.values.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        _distribution("output_tokens", "{__import__('os').getpid(): 1.0}")
    with pytest.raises(ValueError):
        _distribution("output_tokens", "{}")
