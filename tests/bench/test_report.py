"""The benchmark's summary: `name: number` lines in a fixed order (issue 3's five, idle gaps, cold start to first
answer, the backend's cold import), the worse of our clients."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report


def _idle_raw(limited: tuple[list[float], list[float]], unlimited: tuple[list[float], list[float]]) -> dict[str, Any]:
    """Raw idle-gap samples (durations of ours_direct, ours_assume_role) for both variants; stall_ms 250."""

    def clients(durations: tuple[list[float], list[float]]) -> dict[str, Any]:
        return {
            key: {"durations_ms": values, "failures": 0, "new_connections": len(values)}
            for key, values in zip(("ours_direct", "ours_assume_role"), durations, strict=True)
        }

    return {
        "endpoint_idle_s": 0.5,
        "client_idle_s": 0.386,
        "gap_s": 0.6,
        "api_timeout_s": 0.5,
        "stall_ms": 250.0,
        "gaps": len(limited[0]),
        "variants": {"limited": clients(limited), "unlimited": clients(unlimited)},
    }


NO_STALLS = _idle_raw(([5.0, 6.0], [7.0, 8.0]), ([520.0, 530.0], [540.0, 7.0]))


def _results(direct: dict[str, float], assume: dict[str, float]) -> dict[str, Any]:
    def client(values: dict[str, float]) -> dict[str, Any]:
        return {
            "warm": {
                "sts_calls_per_100": values["sts"],
                "new_connections_per_100": values["conn"],
                "median_vs_floor": values["warm"],
            },
            "cold_import": {"cpu_vs_baseline": values["cold"]},
            "cold_start": {"cold_total_vs_baseline": values["start"]},
            "zip_bytes": values.get("zip", 14_000),
        }

    return {
        "clients": {"ours_direct": client(direct), "ours_assume_role": client(assume)},
        "idle_gaps": report.idle_gap_section(NO_STALLS),
        # The backend's cold import within its target (tests/bench/test_backend_import.py varies it).
        "backend_cold_import": {"backend": {"cpu_vs_baseline": 0.9, "instructions_vs_baseline": None}},
    }


def test_summary_lines_any_results_are_the_eight_names_with_numbers() -> None:
    # GIVEN summary values for both clients
    summary = report.summarize(
        _results(
            {"sts": 0, "conn": 0, "warm": 1.05, "cold": 0.7, "start": 0.45},
            {"sts": 1, "conn": 0, "warm": 1.1, "cold": 0.8, "start": 0.38},
        )
    )
    # WHEN the closing lines are rendered
    lines = report.summary_lines(summary)
    # THEN they are the five names of issue 3, the idle-gap stalls, cold start to first answer, then the backend's
    # cold import, in order, each followed by a number
    assert [line.split(": ")[0] for line in lines] == list(report.SUMMARY_KEYS)
    assert lines == [
        "sts_calls_per_100_warm: 1",
        "new_connections_per_100_warm: 0",
        "warm_overhead_vs_floor: 1.10",
        "cold_import_vs_baseline: 0.80",
        "client_zip_bytes: 14000",
        "idle_gap_stalls_per_100: 0",
        "cold_start_vs_baseline: 0.45",
        "backend_cold_import_vs_baseline: 0.90",
    ]


def test_idle_gap_section_slow_or_failed_calls_are_stalls_per_100() -> None:
    # GIVEN idle-gap calls: with the limit one of four direct calls is slow; without it most are, one failed
    raw = _idle_raw(([5.0, 6.0, 300.0, 7.0], [7.0, 8.0, 6.0, 5.0]), ([520.0, 530.0, 510.0, 9.0], [540.0] * 4))
    raw["variants"]["unlimited"]["ours_assume_role"]["failures"] = 1
    # WHEN the section is built
    section = report.idle_gap_section(raw)
    # THEN a stall is a call over stall_ms (a failure is one of them, not counted twice), scaled to 100 calls
    limited, unlimited = section["variants"]["limited"], section["variants"]["unlimited"]
    assert (limited["ours_direct"]["stalls_per_100"], limited["ours_assume_role"]["stalls_per_100"]) == (25, 0)
    assert (unlimited["ours_direct"]["stalls"], unlimited["ours_assume_role"]["stalls"]) == (3, 4)
    # AND the summary line takes the worse of our clients with the limit (the target), not the run without it
    summary = report.summarize({**_results(_CLEAN, _CLEAN), "idle_gaps": section})
    assert summary["idle_gap_stalls_per_100"] == 25
    assert [t.key for t, met in report.verdicts(summary) if not met] == ["idle_gap_stalls_per_100"]


def test_format_table_idle_gaps_rows_for_both_limits_and_a_legend() -> None:
    # GIVEN results with the idle-gap section WHEN the table is rendered
    lines = report.format_table({**_table_results(None), "idle_gaps": report.idle_gap_section(NO_STALLS)})
    # THEN each client has a row with the scaled limit and one with the default limit, with stalls per 100
    rows = [
        line.split() for line in lines if line.startswith(("ours_direct ", "ours_assume_role ")) and "0.386" in line
    ]
    assert [row[:4] for row in rows] == [["ours_direct", "0.386", "2", "0"], ["ours_assume_role", "0.386", "2", "0"]]
    unlimited = [line.split()[:4] for line in lines if line.split()[1:2] == ["270"]]
    assert unlimited == [["ours_direct", "270", "2", "100"], ["ours_assume_role", "270", "2", "50"]]
    assert any("PrivateLink's 350 s" in line for line in lines)


def test_verdicts_cold_start_above_0_4_of_baseline_is_missed() -> None:
    # GIVEN a summary whose cold start to first answer is 0.5x the baseline's for one client and everything else at
    # its limit: no STS call or new connection, warm 1.1x the floor, a 32 KB zip
    summary = report.summarize(
        _results(
            {"sts": 0, "conn": 0, "warm": 1.0, "cold": 0.4, "start": 0.5, "zip": 32 * 1024},
            {"sts": 0, "conn": 0, "warm": 1.1, "cold": 0.4, "start": 0.4, "zip": 32 * 1024},
        )
    )
    # WHEN the targets are checked
    missed = [target.key for target, met in report.verdicts(summary) if not met]
    # THEN only the cold-start target is missed (limits are inclusive), on the worse of the two clients
    assert summary["cold_start_vs_baseline"] == 0.5
    assert missed == ["cold_start_vs_baseline"]


def test_verdicts_one_warm_sts_call_or_connection_per_100_is_missed() -> None:
    # GIVEN one STS call per 100 warm invocations for one client, one new connection for the other
    summary = report.summarize(_results({**_CLEAN, "sts": 1}, {**_CLEAN, "conn": 1}))
    # WHEN the targets are checked
    missed = [target.key for target, met in report.verdicts(summary) if not met]
    # THEN both are missed: the targets are 0 per 100
    assert missed == ["sts_calls_per_100_warm", "new_connections_per_100_warm"]


def test_verdicts_warm_above_1_1_or_zip_above_32_kb_is_missed() -> None:
    # GIVEN warm overhead 1.11x the floor and a zip one byte over 32 KB
    summary = report.summarize(_results({**_CLEAN, "warm": 1.11}, {**_CLEAN, "zip": 32 * 1024 + 1}))
    # WHEN the targets are checked
    missed = [target.key for target, met in report.verdicts(summary) if not met]
    # THEN both are missed
    assert missed == ["warm_overhead_vs_floor", "client_zip_bytes"]


def test_verdicts_cold_import_far_above_baseline_is_a_figure_not_a_target() -> None:
    # GIVEN a cold import 0.9x the baseline's for both clients and everything else within target
    summary = report.summarize(_results({**_CLEAN, "cold": 0.9}, {**_CLEAN, "cold": 0.9}))
    # WHEN the targets are checked
    verdicts = report.verdicts(summary)
    # THEN every target is met: cold import is still a closing line, but no target reads it
    assert [target.key for target, met in verdicts if not met] == []
    assert "cold_import_vs_baseline: 0.90" in report.summary_lines(summary)
    assert "cold_import_vs_baseline" not in {target.key for target, _ in verdicts}


def test_p95_hundred_samples_is_the_95th_smallest() -> None:
    # GIVEN the samples 1..100 in shuffled order
    samples = [float((i * 37) % 100 + 1) for i in range(100)]
    # WHEN the 95th percentile is taken
    # THEN it is an observed value: the 95th smallest
    assert report.p95(samples) == 95.0


_CLEAN = {"sts": 0, "conn": 0, "warm": 1.0, "cold": 0.4, "start": 0.4}


def _starts(*totals: tuple[float, float], sts: int = 0) -> list[report.ColdStart]:
    return [report.ColdStart(init, duration, sts, 1, 1) for init, duration in totals]


def test_paired_ratio_drifting_rounds_is_the_median_of_same_round_ratios() -> None:
    # GIVEN three rounds in which ours and the baseline moved together, and a middle round where the baseline was slow
    ours = [10.0, 50.0, 30.0]
    baseline = [20.0, 40.0, 100.0]
    # WHEN the paired ratio is taken
    ratio = report.paired_ratio(ours, baseline)
    # THEN it is the median of 0.5, 1.25 and 0.3, not the ratio of the two medians (30 / 40)
    assert ratio == 0.5
    assert ratio != report.median(ours) / report.median(baseline)


def test_paired_ratio_unequal_rounds_raises() -> None:
    # GIVEN samples from a different number of rounds
    # WHEN they are paired
    # THEN pairing refuses rather than silently dropping a round
    with pytest.raises(ValueError, match="shorter"):
        report.paired_ratio([1.0, 2.0, 3.0], [1.0, 2.0])


def test_cold_start_section_three_starts_gives_medians_paired_ratio_and_counts() -> None:
    # GIVEN three cold starts of an assume-role client (one STS call each) and the baseline's of the same rounds
    ours = _starts((200.0, 40.0), (300.0, 60.0), (240.0, 30.0), sts=1)
    baseline = _starts((300.0, 100.0), (400.0, 80.0), (600.0, 200.0), sts=1)
    # WHEN its JSON section is built
    section = report.cold_start_section(ours, baseline)
    # THEN it has medians of init, first call and total, and the median of the same-round total ratios
    assert section["starts"] == 3
    assert (section["median_init_ms"], section["median_duration_ms"], section["median_total_ms"]) == (240, 40, 270)
    assert section["cold_total_vs_baseline"] == 0.6  # rounds: 240/400, 360/480, 270/800
    assert section["total_medians_ratio"] == 0.562  # 270/480, the cross-check
    # AND the server-side counts are summed, with every sample kept in round order
    assert (section["sts_calls"], section["new_connections"], section["requests_seen"]) == (3, 3, 3)
    assert [sample["total_ms"] for sample in section["samples"]] == [240, 360, 270]
    assert [sample["sts_calls"] for sample in section["samples"]] == [1, 1, 1]


def test_cold_start_table_each_client_one_row_with_counts_per_start() -> None:
    # GIVEN the cold-start sections of a direct client (no STS) and the baseline (one STS call per start)
    baseline = _starts((300.0, 100.0), (400.0, 80.0), (600.0, 200.0), sts=1)
    direct = _starts((200.0, 20.0), (210.0, 25.0), (190.0, 30.0))
    results = {
        "parameters": {"cold_starts": 3},
        "clients": {
            "ours_direct": {"cold_start": report.cold_start_section(direct, baseline)},
            "baseline": {"cold_start": report.cold_start_section(baseline, baseline)},
        },
    }
    # WHEN the table is rendered
    lines = report.cold_start_table(results)
    # THEN each client has one row: starts, median init, first call and total, ratio, STS and connections per start
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:4]}
    assert rows == {
        "ours_direct": ["3", "200.0", "25.0", "220.0", "0.49", "0", "1"],  # same-round ratios .55, .49, .28
        "baseline": ["3", "400.0", "100.0", "480.0", "1.00", "1", "1"],
    }
    assert "3 new sandboxes" in "\n".join(lines[4:])


def test_summarize_cold_start_sections_give_the_worse_clients_same_round_ratio() -> None:
    # GIVEN the clients' cold-start sections: direct at 0.49 of the baseline, assume-role at 0.6 (same-round ratios)
    results = _results(_CLEAN, _CLEAN)
    before = report.summary_lines(report.summarize(results))
    baseline = _starts((300.0, 100.0), (400.0, 80.0), (600.0, 200.0), sts=1)
    results["clients"]["ours_direct"]["cold_start"] = report.cold_start_section(
        _starts((200.0, 20.0), (210.0, 25.0), (190.0, 30.0)), baseline
    )
    results["clients"]["ours_assume_role"]["cold_start"] = report.cold_start_section(
        _starts((200.0, 40.0), (300.0, 60.0), (240.0, 30.0), sts=1), baseline
    )
    # WHEN the summary is taken
    summary = report.summarize(results)
    after = report.summary_lines(summary)
    # THEN its line is the worse client's ratio, the other lines do not move, and that target is missed
    moved = report.SUMMARY_KEYS.index("cold_start_vs_baseline")
    assert after[moved] == "cold_start_vs_baseline: 0.60"
    assert after[:moved] + after[moved + 1 :] == before[:moved] + before[moved + 1 :]
    assert [t.key for t, met in report.verdicts(summary) if not met] == ["cold_start_vs_baseline"]
    # AND every target reads a closing line
    assert all(target.key in report.SUMMARY_KEYS for target in report.TARGETS)


def _table_results(instructions: dict[str, int] | None) -> dict[str, Any]:
    starts = _starts((200.0, 20.0), (210.0, 25.0), (190.0, 30.0))
    counted = instructions or {}

    def cold(key: str, cpu_ms: float, ratio: float) -> dict[str, Any]:
        return {
            "median_cpu_ms": cpu_ms,
            "median_wall_ms": cpu_ms + 1,
            "cpu_vs_baseline": ratio,
            **report.instructions_section(counted.get(key), counted.get("baseline")),
        }

    def client(key: str, cpu_ms: float, ratio: float, zip_bytes: int | None) -> dict[str, Any]:
        warm = {"sts_calls_per_100": 0, "new_connections_per_100": 0, "median_ms": 4.0, "p95_ms": 5.0}
        return {
            "warm": {**warm, "median_vs_floor": 1.1},
            "cold_import": cold(key, cpu_ms, ratio),
            "cold_start": report.cold_start_section(starts, starts),
            "zip_bytes": zip_bytes,
        }

    return {
        "parameters": {"import_runs": 21, "cold_starts": 3, "invocations": 200},
        "clients": {
            "ours_direct": client("ours_direct", 171.0, 0.64, 19_946),
            "baseline": client("baseline", 259.0, 1.0, None),
        },
        "cold_import_reference": {"floor+powertools": cold("floor+powertools", 137.0, 0.55)},
    }


def test_instructions_section_counted_import_is_its_ratio_to_the_baseline() -> None:
    # GIVEN the import instructions of a client and of the baseline
    # WHEN the JSON section is built
    # THEN it keeps the count and the plain ratio, rounded to three places (one exact count each: no median)
    assert report.instructions_section(487_888_054, 679_239_644) == {
        "instructions": 487_888_054,
        "instructions_vs_baseline": 0.718,
    }
    # AND without counts (no valgrind) both are None, in the JSON as null
    assert report.instructions_section(None, None) == {"instructions": None, "instructions_vs_baseline": None}
    assert report.instructions_section(5, None)["instructions_vs_baseline"] is None


def test_format_table_instruction_counts_are_a_column_next_to_the_cpu_time_ratio() -> None:
    # GIVEN results with instruction counts for every cold import
    results = _table_results({"ours_direct": 487_888_054, "baseline": 679_239_644, "floor+powertools": 405_923_917})
    # WHEN the table is rendered
    lines = report.format_table(results)
    # THEN the header has the column after the CPU-time ratio, and each row its instruction ratio there
    assert " ".join(lines[0].split()).endswith("import ms wall ms cpu/base instr/base zip bytes")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert rows["ours_direct"][-3:] == ["0.64", "0.718", "19946"]
    assert rows["baseline"][-3:] == ["1.00", "1.000", "-"]
    assert rows["floor+powertools"][-2:] == ["0.55", "0.598"]
    # AND the legend explains it
    assert any(line.startswith("instr/base: the import's instructions (callgrind") for line in lines)


def test_format_table_without_instruction_counts_shows_dashes_and_says_why() -> None:
    # GIVEN results of a run without valgrind
    results = _table_results(None)
    # WHEN the table is rendered
    lines = report.format_table(results)
    # THEN the column shows a dash in every row, and the legend says the counts were not taken
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert rows["ours_direct"][-2:] == ["-", "19946"]
    assert rows["baseline"][-2:] == ["-", "-"]
    assert rows["floor+powertools"][-1] == "-"
    assert "instr/base: not counted (valgrind is not on PATH, or --no-instructions)" in lines


def test_summary_lines_instruction_counts_leave_the_lines_unchanged() -> None:
    # GIVEN results whose cold imports also carry instruction ratios unlike their CPU-time ratios
    results = _results({**_CLEAN, "cold": 0.6}, {**_CLEAN, "warm": 1.1, "cold": 0.7})
    before = report.summary_lines(report.summarize(results))
    for client in results["clients"].values():
        client["cold_import"].update(report.instructions_section(900, 100))
    # WHEN the summary is taken again
    after = report.summary_lines(report.summarize(results))
    # THEN cold_import_vs_baseline is still the CPU-time ratio
    assert after == before
    assert "cold_import_vs_baseline: 0.70" in after


def _column_names(header: str) -> list[str]:
    """A header's column names: separated by two spaces or more, single spaces inside a name."""
    return [name for name in header.strip().split("  ") if name]


@pytest.mark.parametrize("counted", [None, {"ours_direct": 2, "baseline": 3, "floor+powertools": 1}])
def test_format_table_headers_are_apart_and_each_names_one_column(counted: dict[str, int] | None) -> None:
    # GIVEN the results table and the cold-start table
    lines = report.format_table(_table_results(counted))
    cold_header = next(line for line in lines if line.startswith("cold start "))
    for header, columns in ((lines[0], 11), (cold_header, 8)):
        # WHEN their headers are read
        names = _column_names(header)
        # THEN two spaces at least part every column name, so there are as many names as columns, all different
        assert len(names) == columns, names
        assert len(set(names)) == columns, names
    assert "vs base" not in lines[0]


def test_target_lines_a_miss_says_what_the_target_is_and_what_missing_it_means() -> None:
    # GIVEN a summary that misses one target
    summary = report.summarize(_results({**_CLEAN, "start": 0.5}, _CLEAN))
    # WHEN the verdict lines are rendered
    lines = report.target_lines(summary)
    # THEN each target has its line, and one line explains a miss
    assert lines[:-1] == [
        f"target {'met   ' if t.key != 'cold_start_vs_baseline' else 'MISSED'} {t.text}" for t in report.TARGETS
    ]
    assert lines[-1].startswith("MISSED: ")
    assert "ceiling" in lines[-1]
    assert "--strict" in lines[-1]


def test_target_lines_all_met_need_no_explanation() -> None:
    summary = report.summarize(_results(_CLEAN, _CLEAN))
    assert report.target_lines(summary) == [f"target met    {t.text}" for t in report.TARGETS]
