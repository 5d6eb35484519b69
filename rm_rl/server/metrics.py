"""The counters and latencies behind ``GET /metrics``."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

from ..rewards import RewardStats, Score


class Metrics:
    """Counters and recent latencies, read by ``GET /metrics``. Loop-thread only."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.scored = RewardStats()  # outcomes, test statuses, isolation and sandbox warnings of every request
        self.completions = 0
        self.rejected = 0
        self.batches = 0  # scoring batches (one plan, one wait) and the requests they held
        self.batched_requests = 0
        self.largest_batch = 0
        self.recent: deque[tuple[float, float, int]] = deque(maxlen=4096)  # (end, seconds, completions)

    def record(self, scores: Sequence[Score], seconds: float) -> None:
        self.completions += len(scores)
        for s in scores:
            self.scored.add(s)
        self.recent.append((time.time(), seconds, len(scores)))

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        uptime = max(now - self.started, 1e-9)
        lat = sorted(s for _, s, _ in self.recent)
        window = [(e, s, n) for e, s, n in self.recent if now - e <= 60.0]

        def pct(q: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))], 6) if lat else None

        scored = self.scored.snapshot()
        return {
            "uptime_s": round(uptime, 3),
            "requests": dict(self.requests),
            "responses": dict(self.responses),
            "completions": self.completions,
            "throughput": {
                "completions_per_s": round(self.completions / uptime, 3),
                "completions_per_s_last_60s": round(sum(n for _, _, n in window) / 60.0, 3),
            },
            "latency_s": {
                "p50": pct(0.50),
                "p90": pct(0.90),
                "p99": pct(0.99),
                "max": lat[-1] if lat else None,
                "window": len(lat),
            },
            "outcomes": scored["outcomes"],
            "sandbox_errors": scored["outcomes"]["sandbox_error"],
            "test_statuses": scored["test_statuses"],
            "isolation": scored["isolation"],
            "warnings": scored["warnings"],
            "rejected_busy": self.rejected,
            "batches": {
                "count": self.batches,
                "requests": self.batched_requests,
                "largest_requests": self.largest_batch,
            },
        }
