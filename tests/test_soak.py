"""The soak's arithmetic (bench/soak.py): intervals cut from the request log, p95, and the
pass criteria on results built by hand. No server: `make soak` itself runs against one."""

from __future__ import annotations

import copy
from typing import Any

from bench import soak


def test_p95_is_the_nearest_rank() -> None:
    assert soak.p95([]) == 0.0
    assert soak.p95([7.0]) == 7.0
    # 20 values: rank ceil(0.95 * 20) = 19, the 19th smallest
    assert soak.p95([float(v) for v in range(20, 0, -1)]) == 19.0
    # 100 values 1..100: the 95th
    assert soak.p95([float(v) for v in range(1, 101)]) == 95.0


def test_interval_stats_count_only_requests_started_inside() -> None:
    rows = [
        (99.9, "POST outcomes/", 500.0, 201, True),  # before the interval
        (100.0, "POST outcomes/", 10.0, 201, True),
        (105.0, "POST outcomes/", 30.0, 201, True),
        (110.0, "GET analytics/manager/", 200.0, 500, False),
        (119.9, "POST signals/", 20.0, 201, True),
        (120.0, "POST outcomes/", 900.0, 201, True),  # the next interval
    ]
    stats = soak.interval_stats(rows, start=100.0, seconds=20)
    assert stats["rps"] == 0.2  # 4 requests in 20 s
    assert stats["failures"] == 1
    assert stats["p95_ms"] == 200.0
    assert stats["by_type"] == {
        "GET analytics/manager/": {"rps": 0.05, "p95_ms": 200.0},
        "POST outcomes/": {"rps": 0.1, "p95_ms": 30.0},
        "POST signals/": {"rps": 0.05, "p95_ms": 20.0},
    }


def _result() -> dict[str, Any]:
    """Six steady intervals, every count matching: every criterion passes."""
    rss = {"web worker 1": 130.0, "celery worker": 160.0, "postgres backends (x)": 90.0}
    interval = {"rps": 20.0, "p95_ms": 300.0, "rss_mb": rss}
    counts = {"actions": 100, "signals": 40, "feedback": 10, "overdue": 0, "due": 25}
    return {
        "intervals": [copy.deepcopy(interval) for _ in range(6)],
        "drained_after": 3.0,
        "sent": {
            "POST outcomes/": {"201": 100},
            "POST signals/": {"201": 40},
            "POST feedback/": {"201": 10},
            "GET analytics/manager/": {"200": 50},
        },
        "at_stop": {**counts, "overdue": 7},
        "final": counts,
    }


def _verdicts(result: dict[str, Any]) -> dict[str, bool]:
    return {row["criterion"]: row["ok"] for row in soak.criteria(result)}


def test_steady_run_passes_every_criterion() -> None:
    verdicts = _verdicts(_result())
    assert verdicts == {
        "throughput flat": True,
        "p95 flat": True,
        "RSS flat (every Python process)": True,
        "no queue backlog": True,
        "actions exact": True,
        "signals exact": True,
        "feedback exact": True,
        "no failed request": True,
        "every due outcome resolved": True,
    }


def test_throughput_outside_ten_percent_of_the_median_fails() -> None:
    result = _result()
    result["intervals"][0]["rps"] = 5.0  # the first interval warms up: not judged
    assert _verdicts(result)["throughput flat"] is True
    result["intervals"][3]["rps"] = 17.9  # 10.5 % under the median of 2..n (20.0)
    assert _verdicts(result)["throughput flat"] is False
    result["intervals"][3]["rps"] = 18.1
    assert _verdicts(result)["throughput flat"] is True


def test_p95_growing_at_the_end_fails() -> None:
    result = _result()
    result["intervals"][0]["p95_ms"] = 5000.0  # warming up: not judged
    for row in result["intervals"][-3:]:
        row["p95_ms"] = 460.0  # +53 % over intervals 2..3 (300 ms)
    assert _verdicts(result)["p95 flat"] is False
    result["intervals"][-1]["p95_ms"] = 900.0  # one bad interval of the last 3: the median
    result["intervals"][-2]["p95_ms"] = 440.0  # of the last 3 is 460 -> still too slow
    assert _verdicts(result)["p95 flat"] is False
    result["intervals"][-3]["p95_ms"] = 440.0  # +47 %
    assert _verdicts(result)["p95 flat"] is True


def test_rss_growth_names_the_process_and_ignores_postgres() -> None:
    result = _result()
    result["intervals"][-1]["rss_mb"] = {
        "web worker 1": 151.0,  # +21 MB over interval 2's 130 (more than 10 %, 13 MB)
        "celery worker": 175.0,  # +15 MB: within 20 MB
        "postgres backends (x)": 900.0,  # shared pages: reported, not judged
    }
    rows = {row["criterion"]: row for row in soak.criteria(result)}
    assert rows["RSS flat (every Python process)"]["ok"] is False
    assert rows["RSS flat (every Python process)"]["detail"] == "web worker 1 130->151 MB"


def test_a_count_that_differs_from_the_201s_fails() -> None:
    result = _result()
    result["final"]["signals"] = 39
    rows = {row["criterion"]: row for row in soak.criteria(result)}
    assert rows["signals exact"]["ok"] is False
    assert rows["signals exact"]["detail"] == "40 answered 201, 39 stored"
    assert rows["actions exact"]["ok"] is True


def test_an_outcome_left_pending_after_the_final_sweep_fails() -> None:
    result = _result()
    result["final"]["overdue"] = 1
    assert _verdicts(result)["every due outcome resolved"] is False
    result["final"] = {**result["final"], "overdue": 0, "due": 0}  # nothing fell due
    assert _verdicts(result)["every due outcome resolved"] is False


def test_failures_and_a_backlog_fail() -> None:
    result = _result()
    result["sent"]["POST signals/"]["400"] = 2
    result["drained_after"] = None
    verdicts = _verdicts(result)
    assert verdicts["no failed request"] is False
    assert verdicts["no queue backlog"] is False
    assert verdicts["signals exact"] is True  # the 201s still match what is stored


def test_sparkline_spans_the_blocks() -> None:
    assert soak.spark([1.0, 2.0, 3.0]) == "▁▄█"
    assert soak.spark([5.0, 5.0]) == "▁▁"
