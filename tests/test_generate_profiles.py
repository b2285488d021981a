"""Reading profile literals: the fast split, the literal-only fallback, and refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.generate import _distribution
from pipeline.synthetic import ClientSpec, generate

runner = CliRunner()


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


def test_a_profile_missing_a_field_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    spec = ClientSpec("c", "m", rate_rps=0.1, family="gamma", shape=1.0)
    log.write_text(generate([spec], duration_s=3600, seed=1).write_csv())
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(log), "--out", str(out)]).exit_code == 0
    dataset = out / "profiles" / "data" / "language" / "m" / "chunk-0-dataset.json"
    dataset.write_text(dataset.read_text().replace('"output_tokens"', '"output_tokenz"'))
    result = runner.invoke(
        app, ["generate", str(out), "--duration", "600", "-o", str(tmp_path / "t.csv")]
    )
    assert result.exit_code == 1, result.output
    assert "output_tokens" in result.output and "Hint:" in result.output
