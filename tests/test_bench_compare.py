"""bench/compare.py's summary: medians per ref, after / before, and each round's pair."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_compare", Path(__file__).resolve().parents[1] / "bench" / "compare.py"
)
compare = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
sys.modules["bench_compare"] = compare  # dataclasses look their module up
spec.loader.exec_module(compare)  # type: ignore[union-attr]


def test_the_ratio_is_median_after_over_median_before_and_rounds_are_paired() -> None:
    values = {
        "index_sqlite_events_per_s": {
            "before": [(0, 100.0), (1, 300.0), (2, 200.0)],
            "after": [(0, 50.0), (1, 330.0), (2, 240.0)],
        }
    }
    figure = compare.summarize(values)["index_sqlite_events_per_s"]
    assert figure["median_before"] == 200.0
    assert figure["median_after"] == 240.0
    assert figure["ratio"] == 1.2
    assert figure["round_ratios"] == [0.5, 1.1, 1.2]


def test_a_figure_one_ref_never_produced_has_no_ratio() -> None:
    values = {"record_rows_per_s": {"before": [(0, 900.0)]}}
    assert compare.summarize(values)["record_rows_per_s"] == {"before": [900.0], "after": [], "ratio": None}


def test_a_failed_round_is_left_out_of_the_pairs() -> None:
    values = {"api_list_cache_on_req_per_s": {"before": [(0, 10.0), (1, 20.0)], "after": [(1, 30.0)]}}
    figure = compare.summarize(values)["api_list_cache_on_req_per_s"]
    assert figure["round_ratios"] == [1.5]
    assert figure["ratio"] == 2.0
