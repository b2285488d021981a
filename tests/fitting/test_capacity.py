"""The capacity (Lindley queue) and quota (fixed-window RPM/TPM) models on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitting.capacity import (
    queueing_delays,
    quota_admitted,
    rejected_share,
    required_throughput,
    smallest_quota,
    under_provisioning_pct,
)

BISECTION_RTOL = 1e-3  # the search stops at a relative width of 1e-4; 1e-3 leaves room


def test_three_requests_wait_as_computed_by_hand() -> None:
    # Arrivals 0, 1, 2 s; 20 tokens each at 10 tokens/s: 2 s of service each.
    # W1 = 0, W2 = max(0, 0 + 2 - 1) = 1, W3 = max(0, 1 + 2 - 1) = 2.
    waits = queueing_delays([0.0, 1.0, 2.0], np.array([20.0, 20.0, 20.0]) / 10.0)
    np.testing.assert_allclose(waits, [0.0, 1.0, 2.0])


def test_an_idle_gap_empties_the_queue() -> None:
    # Service 3 s at 0; arrival at 10 finds the server idle; the third arrives 1 s later.
    waits = queueing_delays([0.0, 10.0, 11.0], [3.0, 2.0, 1.0])
    np.testing.assert_allclose(waits, [0.0, 0.0, 1.0])


def test_queueing_delays_match_the_recursion_on_random_input() -> None:
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.exponential(1.0, 500))
    s = rng.exponential(0.9, 500)
    expected = np.zeros(500)
    for n in range(1, 500):
        expected[n] = max(0.0, expected[n - 1] + s[n - 1] - (t[n] - t[n - 1]))
    np.testing.assert_allclose(queueing_delays(t, s), expected, atol=1e-9)


def test_required_throughput_of_a_burst() -> None:
    # Three requests of 10 tokens at t = 0 wait 0, 10/c and 20/c; the median is 10/c, so the
    # smallest c with a median wait of at most 1 s is 10 tokens/s.
    result = required_throughput([0.0, 0.0, 0.0], [10.0, 10.0, 10.0], target_s=1.0, quantile=0.5)
    assert result.throughput_tps == pytest.approx(10.0, rel=BISECTION_RTOL)
    assert result.delay_quantile_s <= 1.0


def test_under_provisioning_in_percent() -> None:
    real = required_throughput([0.0, 0.0, 0.0], [10.0, 10.0, 10.0], target_s=1.0, quantile=0.5)
    half = required_throughput([0.0, 0.0, 0.0], [5.0, 5.0, 5.0], target_s=1.0, quantile=0.5)
    assert under_provisioning_pct(real, half) == pytest.approx(50.0, rel=BISECTION_RTOL * 2)


# client 0: four requests in the first minute, one in the second; client 1: three in the first.
TIMES = np.array([0.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 70.0])
CLIENTS = np.array([0, 1, 0, 1, 0, 1, 0, 0])
TOKENS = np.array([10.0, 100.0, 10.0, 100.0, 10.0, 100.0, 10.0, 10.0])


def test_rpm_admits_the_first_requests_of_each_client_and_minute() -> None:
    admitted = quota_admitted(TIMES, CLIENTS, TOKENS, rpm=2, tpm=math.inf)
    assert admitted.tolist() == [True, True, True, True, False, False, False, True]
    assert rejected_share(admitted) == pytest.approx(3 / 8)


def test_tpm_stops_a_window_once_its_tokens_run_out() -> None:
    # client 0: 10, 20, 30 <= 25? no -> the third and fourth are rejected; client 1 needs 100
    # per request, so 150 admits one.
    admitted = quota_admitted(TIMES, CLIENTS, TOKENS, rpm=math.inf, tpm=150)
    assert admitted.tolist() == [True, True, True, False, True, False, True, True]
    admitted = quota_admitted(TIMES, CLIENTS, TOKENS, rpm=math.inf, tpm=25)
    assert admitted.tolist() == [True, False, True, False, False, False, False, True]


def test_smallest_quota_for_no_rejections() -> None:
    found = smallest_quota(TIMES, CLIENTS, TOKENS, rpm=2, tpm=300, target_share=0.0)
    assert found.rpm == 4  # client 0 sends four requests in its busiest minute
    assert found.tpm == 300  # client 1 sends 300 tokens in its busiest minute
    assert found.scale == 2.0  # rpm 2 -> 4 (exact: an order statistic, not a search)
    one_miss = smallest_quota(TIMES, CLIENTS, TOKENS, rpm=2, tpm=300, target_share=1 / 8)
    assert one_miss.rpm == 3


def test_smallest_quota_is_the_boundary_on_a_random_workload() -> None:
    rng = np.random.default_rng(9)
    times = np.sort(rng.uniform(0, 3600, 3000) ** 1.3 / 3600**0.3)  # busier early on
    clients = rng.integers(0, 5, times.size)
    tokens = rng.integers(10, 2000, times.size).astype(np.float64)
    target = 0.05
    found = smallest_quota(times, clients, tokens, rpm=20, tpm=20_000, target_share=target)

    def share(rpm: float, tpm: float) -> float:
        return rejected_share(quota_admitted(times, clients, tokens, rpm=rpm, tpm=tpm))

    assert share(found.rpm, math.inf) <= target < share(found.rpm - 1, math.inf)
    assert share(math.inf, found.tpm) <= target < share(math.inf, found.tpm - 1)
    s = found.scale
    assert share(20 * s, 20_000 * s) <= target < share(20 * s * 0.999, 20_000 * s * 0.999)
