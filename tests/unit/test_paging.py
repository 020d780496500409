"""Bounded pages and k-way merges (logic/paging.py) over in-memory partitions: order, budget, resume, totals."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tickets import ids
from tickets.dal.query import QueryPlan
from tickets.logic import paging


class FakeTable:
    """Partitions of items sorted by GSI1SK, read the way dal.query.query reads them (bounds, Limit, start key)."""

    def __init__(self, partitions: dict[str, list[str]]) -> None:
        self.partitions = {p: sorted(sks) for p, sks in partitions.items()}
        self.calls: list[tuple[str, int]] = []

    def query(self, plan: QueryPlan, *, limit: int, start_key: dict[str, str] | None, projection: Any = None):
        low, high = plan.sort_low, plan.sort_high
        sks = [s for s in self.partitions[plan.partition] if (low is None or s >= low) and (high is None or s <= high)]
        if not plan.forward:
            sks = sks[::-1]
        if start_key:
            at = sks.index(start_key["GSI1SK"])
            sks = sks[at + 1 :]
        page = sks[:limit]
        self.calls.append((plan.partition, len(page)))
        items = [{"PK": "TENANT#T", "SK": f"TICKET#{s}", "GSI1PK": plan.partition, "GSI1SK": s, "id": s} for s in page]
        last = {k: items[-1][k] for k in ("PK", "SK", "GSI1PK", "GSI1SK")} if len(sks) > limit else None
        return items, last


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> FakeTable:
    rng = random.Random(7)
    ms = 1_700_000_000_000
    made = sorted(ids.new_id(ms + i * 10) for i in range(600))
    parts: dict[str, list[str]] = {"A": [], "B": [], "C": []}
    for u in made:
        parts[rng.choice("AAAAABBC")].append(u)  # uneven shares
    fake = FakeTable(parts)
    monkeypatch.setattr(paging, "query", fake.query)
    return fake


def _streams(table: FakeTable, sizes: bool = True) -> list[paging.Stream]:
    return [paging.Stream("GSI1", p, size=len(s) if sizes else None) for p, s in sorted(table.partitions.items())]


def _all(table: FakeTable, forward: bool = False) -> list[str]:
    merged = sorted(s for sks in table.partitions.values() for s in sks)
    return merged if forward else merged[::-1]


@pytest.mark.parametrize("forward", [False, True])
def test_given_three_partitions_when_merged_then_every_item_comes_once_in_order(table: FakeTable, forward: bool):
    source = paging.MergeSource(_streams(table), forward=forward, budget=paging.Budget(left=10_000))
    seen = []
    while (item := source.next(50)) is not None:
        seen.append(item["id"])
    assert seen == _all(table, forward) and source.ended


def test_given_a_page_of_a_merge_then_it_reads_the_page_and_a_little_lookahead_and_resumes_exactly(table: FakeTable):
    wanted, cursor_pos, pages = _all(table), None, []
    while True:
        source = paging.MergeSource(_streams(table), forward=False, budget=paging.Budget(), after=cursor_pos)
        found = paging.examine(source, skip=0, limit=50, predicate=None)
        pages.append([r["id"] for r in found.rows])
        assert source.budget.read <= 70, source.budget.read  # the page, one more, and a little per lane
        if found.resume is None:
            break
        cursor_pos = source.resume_key(found.resume)["p"]
    assert [i for p in pages for i in p] == wanted and len(pages) == 12


def test_given_an_empty_partition_by_the_counters_then_it_is_never_read(table: FakeTable):
    streams = [*_streams(table), paging.Stream("GSI1", "D", size=0)]
    table.partitions["D"] = []
    source = paging.MergeSource(streams, forward=False, budget=paging.Budget())
    paging.examine(source, skip=0, limit=10, predicate=None)
    assert "D" not in {p for p, _ in table.calls}


def test_given_a_sparse_filter_then_the_budget_ends_the_page_and_the_next_one_starts_after_the_last_item_read(
    table: FakeTable,
):
    wanted = [u for u in _all(table) if u.endswith(("0", "1"))]  # ~1 in 16
    keep = lambda t: t["id"].endswith(("0", "1"))  # noqa: E731
    seen, cursor_pos, n_before, reads = [], None, 0, []
    while True:
        source = paging.MergeSource(_streams(table), forward=False, budget=paging.Budget(left=100), after=cursor_pos)
        found = paging.examine(source, skip=0, limit=20, predicate=keep)
        reads.append(source.budget.read)
        assert source.budget.read <= 100
        seen += [r["id"] for r in found.rows]
        if found.resume is None:
            break
        n_before += found.consumed_matches
        cursor_pos = source.resume_key(found.resume)["p"]
    # What a lane read past the position the page stopped at is read again by the next page: at most twice in all.
    assert seen == wanted and sum(reads) <= 2 * 600


def test_given_an_offset_the_budget_cannot_skip_then_the_page_says_how_much_is_left(table: FakeTable):
    keep = lambda t: t["id"].endswith(("0", "1", "2", "3"))  # noqa: E731
    source = paging.MergeSource(_streams(table), forward=False, budget=paging.Budget(left=80), after=None)
    found = paging.examine(source, skip=30, limit=10, predicate=keep)
    assert found.rows == [] and found.resume is not None and 0 < found.skip_left < 30
    assert found.consumed_matches == 30 - found.skip_left  # what was skipped is before the resume position


def test_given_a_range_that_ends_within_the_page_then_there_is_no_cursor_and_the_total_is_exact(table: FakeTable):
    source = paging.MergeSource(_streams(table), forward=False, budget=paging.Budget())
    found = paging.examine(source, skip=0, limit=1000, predicate=None)
    assert found.resume is None and found.ended and found.matches == 600
