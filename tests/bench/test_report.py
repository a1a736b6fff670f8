"""The benchmark's summary: five `name: number` lines in a fixed order, the worse of our two clients for each."""

from __future__ import annotations

from typing import Any

from bench import report


def _results(direct: dict[str, float], assume: dict[str, float]) -> dict[str, Any]:
    def client(values: dict[str, float]) -> dict[str, Any]:
        return {
            "warm": {
                "sts_calls_per_100": values["sts"],
                "new_connections_per_100": values["conn"],
                "median_vs_floor": values["warm"],
            },
            "cold_import": {"cpu_vs_baseline": values["cold"]},
            "zip_bytes": 14_000,
        }

    return {"clients": {"ours_direct": client(direct), "ours_assume_role": client(assume)}}


def test_summary_lines_any_results_are_the_five_names_with_numbers() -> None:
    # GIVEN summary values for both clients
    summary = report.summarize(
        _results({"sts": 0, "conn": 0, "warm": 1.05, "cold": 0.7}, {"sts": 1, "conn": 0, "warm": 1.1, "cold": 0.8})
    )
    # WHEN the closing lines are rendered
    lines = report.summary_lines(summary)
    # THEN they are exactly the five names, in order, each followed by a number
    assert [line.split(": ")[0] for line in lines] == list(report.SUMMARY_KEYS)
    assert lines == [
        "sts_calls_per_100_warm: 1",
        "new_connections_per_100_warm: 0",
        "warm_overhead_vs_floor: 1.10",
        "cold_import_vs_baseline: 0.80",
        "client_zip_bytes: 14000",
    ]


def test_verdicts_cold_import_above_half_of_baseline_is_missed() -> None:
    # GIVEN a summary whose cold import is 0.8x the baseline's and everything else within target
    summary = report.summarize(
        _results({"sts": 0, "conn": 0, "warm": 1.0, "cold": 0.8}, {"sts": 0, "conn": 1, "warm": 1.2, "cold": 0.4})
    )
    # WHEN the targets are checked
    missed = [target.key for target, met in report.verdicts(summary) if not met]
    # THEN only the cold-import target is missed (limits are inclusive)
    assert missed == ["cold_import_vs_baseline"]


def test_p95_hundred_samples_is_the_95th_smallest() -> None:
    # GIVEN the samples 1..100 in shuffled order
    samples = [float((i * 37) % 100 + 1) for i in range(100)]
    # WHEN the 95th percentile is taken
    # THEN it is an observed value: the 95th smallest
    assert report.p95(samples) == 95.0
