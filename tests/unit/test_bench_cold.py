"""bench/cold.py's arithmetic: a function's figure is the median of its pairs' ratios to the floor (issue 16)."""

from __future__ import annotations

from bench import cold
from bench.cold import Sample


def _sample(wall: float, cpu: float | None = None) -> Sample:
    return Sample(wall=wall, setup=wall / 2, request=wall / 4, status=200, cpu=cpu if cpu is not None else wall)


def test_given_pairs_when_summarised_then_each_ratio_is_the_median_of_the_pairs_and_the_worst_is_named():
    floor = [_sample(1.0), _sample(2.0), _sample(1.0)]
    pairs = {
        cold.HEADLINE: [(floor[0], _sample(1.2)), (floor[1], _sample(2.2)), (floor[2], _sample(1.1))],  # 1.2 1.1 1.1
        "ListTicketsFunction": [(floor[0], _sample(1.5, cpu=1.4)), (floor[1], _sample(3.0, cpu=2.6))],  # 1.5 1.5
    }

    out = cold.summarise(pairs, reference=[(floor[0], _sample(1.3))], uncompiled=[(floor[0], _sample(2.4))])

    functions = out["data"]["functions"]
    assert functions[cold.HEADLINE]["ratio"] == 1.1 and functions[cold.HEADLINE]["pairs"] == 3
    assert (functions["ListTicketsFunction"]["ratio"], functions["ListTicketsFunction"]["cpu_ratio"]) == (1.5, 1.35)
    assert out["data"]["worst"] == "ListTicketsFunction" and out["data"]["over_budget"] == ["ListTicketsFunction"]
    assert out["data"]["floor"]["samples"] == 5
    assert (out["data"]["pydantic_floor"]["ratio"], out["data"]["get_ticket_without_bytecode"]["ratio"]) == (1.3, 2.4)
    budgeted = {row["metric"].split(":")[0]: row["ok"] for row in out["rows"] if row["budget"]}
    assert budgeted == {"get_ticket": True, "worst": False}
