"""Capacity and quota models for a workload: how much server, and how many 429s.

Capacity: one first-come-first-served server that processes tokens at a fixed throughput, so a
request's service time is its tokens divided by the throughput (tokens/s). Queueing delays
follow Lindley's recursion, ``W_1 = 0``, ``W_{n+1} = max(0, W_n + S_n - A_{n+1})`` (A the
inter-arrival time), which unrolls to ``W_n = X_n - min_{k<=n} X_k`` with
``X_n = sum_{j<n} (S_j - A_{j+1})`` and ``X_1 = 0``; the required capacity is the smallest
throughput whose p99 queueing delay stays under a target, found by bisection (the delays
never grow when the throughput does).

Quotas: requests-per-minute (RPM) and tokens-per-minute (TPM) limits per client over fixed
60-second windows, as hosted model APIs document them; a request is admitted while the
client's requests and tokens in the current window, itself included, stay within both limits,
and once a limit is hit the rest of the window is rejected (HTTP 429) until it resets.

References
----------
D. V. Lindley, "The theory of queues with a single server", Proc. Cambridge Philos. Soc. 48
(1952). Y. Xiang et al., ServeGen, arXiv:2505.09999 (2025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

DEFAULT_TARGET_P99_S = 2.0
QUOTA_WINDOW_S = 60.0


def queueing_delays(arrival_s: ArrayLike, service_s: ArrayLike) -> NDArray[np.float64]:
    """Waiting time of each request before service (FIFO, one server), by Lindley's recursion.

    `arrival_s` must be sorted; the closed form is vectorised (no Python loop).
    """
    t = np.asarray(arrival_s, dtype=np.float64)
    s = np.asarray(service_s, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise ValueError("`arrival_s` and `service_s` must be 1-d arrays of the same length")
    if t.size == 0:
        return np.zeros(0)
    if np.any(np.diff(t) < 0):
        raise ValueError("`arrival_s` must be sorted")
    x = np.concatenate([[0.0], np.cumsum(s[:-1] - np.diff(t))])
    return np.maximum(x - np.minimum.accumulate(x), 0.0)


@dataclass(frozen=True, slots=True)
class Capacity:
    """The smallest token throughput that keeps the delay quantile under the target."""

    throughput_tps: float
    delay_quantile_s: float  # achieved at that throughput
    target_s: float
    quantile: float
    mean_load_tps: float  # total tokens over the span: the floor for a stable server


def required_throughput(
    arrival_s: ArrayLike,
    tokens: ArrayLike,
    *,
    target_s: float = DEFAULT_TARGET_P99_S,
    quantile: float = 0.99,
    rtol: float = 1e-4,
) -> Capacity:
    """Smallest throughput (tokens/s) with the `quantile` queueing delay <= `target_s`.

    Bisection in log space between a throughput that misses the target and one that meets
    it, to a relative width of `rtol`.
    """
    t = np.asarray(arrival_s, dtype=np.float64)
    work = np.asarray(tokens, dtype=np.float64)
    if not target_s > 0 or not 0 < quantile < 1:
        raise ValueError("`target_s` must be positive and `quantile` in (0, 1)")
    if t.size == 0 or work.sum() <= 0:
        return Capacity(0.0, 0.0, target_s, quantile, 0.0)
    span = max(float(t[-1] - t[0]), 1.0)
    mean_load = float(work.sum()) / span

    def delay(throughput: float) -> float:
        return float(np.quantile(queueing_delays(t, work / throughput), quantile))

    high = max(mean_load, 1e-9)
    while delay(high) > target_s:
        high *= 2
    low = high / 2
    while low > 1e-12 and delay(low) <= target_s:
        high, low = low, low / 2
    while high / low > 1 + rtol:
        middle = math.sqrt(low * high)
        if delay(middle) <= target_s:
            high = middle
        else:
            low = middle
    return Capacity(high, delay(high), target_s, quantile, mean_load)


def under_provisioning_pct(real: Capacity, baseline: Capacity) -> float:
    """How much less capacity the baseline asks for than the real workload needs, in percent."""
    if real.throughput_tps <= 0:
        return math.nan
    return 100.0 * (real.throughput_tps - baseline.throughput_tps) / real.throughput_tps


@dataclass(frozen=True)
class QuotaWindows:
    """Requests grouped by (client, fixed window): each one's rank and running token count.

    Built once per workload so that trying many quotas costs one comparison per request.
    """

    rank: NDArray[np.int64]  # 1-based position of the request in its client's window
    tokens_so_far: NDArray[np.float64]  # the window's tokens up to and including it
    window: NDArray[np.int64]  # window index of each request (arrival order)

    @classmethod
    def build(
        cls, arrival_s: ArrayLike, client: ArrayLike, tokens: ArrayLike, window_s: float
    ) -> QuotaWindows:
        t = np.asarray(arrival_s, dtype=np.float64)
        owner = np.asarray(client, dtype=np.int64)
        work = np.asarray(tokens, dtype=np.float64)
        if not (t.shape == owner.shape == work.shape):
            raise ValueError("`arrival_s`, `client` and `tokens` must have the same length")
        window = np.floor(t / window_s).astype(np.int64)
        order = np.lexsort((np.arange(t.size), window, owner))  # by client, window, arrival
        key_owner, key_window = owner[order], window[order]
        new_group = np.ones(t.size, dtype=bool)
        new_group[1:] = (key_owner[1:] != key_owner[:-1]) | (key_window[1:] != key_window[:-1])
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(t.size), 0))
        cumulative = np.cumsum(work[order])
        before_group = np.concatenate([[0.0], cumulative])[group_start]
        rank = np.empty(t.size, dtype=np.int64)
        tokens_so_far = np.empty(t.size, dtype=np.float64)
        rank[order] = np.arange(t.size) - group_start + 1
        tokens_so_far[order] = cumulative - before_group
        return cls(rank, tokens_so_far, window)

    def admitted(self, rpm: float, tpm: float) -> NDArray[np.bool_]:
        return (self.rank <= rpm) & (self.tokens_so_far <= tpm)


def quota_admitted(
    arrival_s: ArrayLike,
    client: ArrayLike,
    tokens: ArrayLike,
    *,
    rpm: float,
    tpm: float,
    window_s: float = QUOTA_WINDOW_S,
) -> NDArray[np.bool_]:
    """Which requests a per-client RPM/TPM quota over fixed windows admits (see module docs).

    ``math.inf`` disables a limit.
    """
    return QuotaWindows.build(arrival_s, client, tokens, window_s).admitted(rpm, tpm)


@dataclass(frozen=True, slots=True)
class QuotaSearch:
    """The smallest per-client limit whose 429 share stays at or under the target."""

    rpm: float  # with TPM unlimited
    tpm: float  # with RPM unlimited
    scale: float  # smallest common multiple s of the given pair: limits (s * rpm, s * tpm)
    target_share: float


def rejected_share(admitted: NDArray[np.bool_]) -> float:
    return float(np.count_nonzero(~admitted) / admitted.size) if admitted.size else 0.0


def smallest_quota(
    arrival_s: ArrayLike,
    client: ArrayLike,
    tokens: ArrayLike,
    *,
    rpm: float,
    tpm: float,
    target_share: float,
    window_s: float = QUOTA_WINDOW_S,
) -> QuotaSearch:
    """The smallest quotas that keep the 429 share at or under `target_share`, exactly.

    A request is admitted under limits (R, T) iff its rank in its client's window is at most
    R and the window's tokens up to it at most T (module docs), so it is rejected under the
    pair ``(s * rpm, s * tpm)`` iff ``s < max(rank / rpm, tokens_so_far / tpm)``, its critical
    value. At most ``m = floor(target_share * n)`` requests may be rejected, so the smallest
    limit is the (m + 1)-th largest critical value: of the ranks (RPM alone), of the running
    token counts (TPM alone), and of the scaled maximum (a common multiple of the pair).
    """
    if not 0 <= target_share < 1:
        raise ValueError("`target_share` must be in [0, 1)")
    if not (math.isfinite(rpm) or math.isfinite(tpm)) or rpm <= 0 or tpm <= 0:
        raise ValueError("`rpm` and `tpm` must be positive, and at least one finite")
    windows = QuotaWindows.build(arrival_s, client, tokens, window_s)
    return smallest_quota_of(
        windows.rank, windows.tokens_so_far, rpm=rpm, tpm=tpm, target_share=target_share
    )


def smallest_quota_of(
    rank: ArrayLike, tokens_so_far: ArrayLike, *, rpm: float, tpm: float, target_share: float
) -> QuotaSearch:
    """`smallest_quota` from each request's rank and running token count in its window
    (`QuotaWindows`), so that a long replay can keep only these two numbers per request."""
    ranks = np.asarray(rank, dtype=np.float64)
    running = np.asarray(tokens_so_far, dtype=np.float64)
    n = ranks.size
    if n == 0:
        return QuotaSearch(0.0, 0.0, 0.0, target_share)
    allowed = math.floor(target_share * n + 1e-9)  # rejections the target permits

    def largest(values: NDArray[np.float64]) -> float:
        """The (allowed + 1)-th largest value."""
        position = n - 1 - allowed
        return float(np.partition(values, position)[position])

    critical = np.maximum(ranks / rpm, running / tpm)
    return QuotaSearch(largest(ranks), largest(running), largest(critical), target_share)
