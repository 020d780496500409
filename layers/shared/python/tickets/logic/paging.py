"""Bounded pages over Queries: no list request reads more than LIST_ITEM_BUDGET items, whatever it filters.

A page reads items in order from a *source* (one Query resumed by its key, or a merge of several Queries on a shared
sort key) and keeps the matches of a predicate the key cannot express. It stops at the first of: the page is full and
one more match proves a next page; the range ends; the budget is spent. A page cut short by the budget comes back
with fewer rows and a `nextCursor` that resumes after the last item it examined (not after its last match), so the
next page never reads those items again. Offsets count matches, so an offset the budget could not skip is carried in
the cursor too ("o"), as is the number of matches before the cursor ("n", the lower bound of `total`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickets import ids
from tickets.dal.client import strip_keys
from tickets.dal.query import QueryPlan, query
from tickets.logic import cursor as cursors
from tickets.models.common import LIST_ITEM_BUDGET, PageQuery

Predicate = Callable[[dict[str, Any]], bool] | None
MAX_QUERY_LIMIT = 1000  # items one Query may ask for (a Query also stops at 1 MB)
FILTERED_BATCH = 100  # items asked for at least, when a predicate may drop most of them


@dataclass
class Budget:
    """Items a request may still read, and what it has read (items, Query calls)."""

    left: int = LIST_ITEM_BUDGET
    read: int = 0
    calls: int = 0

    def spend(self, n: int) -> None:
        self.left -= n
        self.read += n
        self.calls += 1


class Source:
    """Items of a list in order; `next` returns None at the end of the range or when the budget is spent.
    `ended`: every item of the range has been handed out."""

    @property
    def ended(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def next(self, hint: int) -> dict[str, Any] | None:  # pragma: no cover - interface
        raise NotImplementedError

    def resume_key(self, item: dict[str, Any]) -> dict[str, str]:  # pragma: no cover - interface
        raise NotImplementedError


class QuerySource(Source):
    """One Query, resumed with ExclusiveStartKey (the lists of customers, comments, history, deliveries...)."""

    def __init__(self, plan: QueryPlan, start: dict[str, str] | None, budget: Budget) -> None:
        self.plan, self.start, self.budget = plan, start, budget
        self.buffer: list[dict[str, Any]] = []
        self.query_ended = False

    @property
    def ended(self) -> bool:
        return self.query_ended and not self.buffer

    def next(self, hint: int) -> dict[str, Any] | None:
        if not self.buffer and not self.query_ended:
            limit = min(hint, self.budget.left, MAX_QUERY_LIMIT)
            if limit <= 0:
                return None
            items, self.start = query(self.plan, limit=limit, start_key=self.start)
            self.budget.spend(len(items))
            self.buffer = items[::-1]
            self.query_ended = self.start is None
        return self.buffer.pop() if self.buffer else None

    def resume_key(self, item: dict[str, Any]) -> dict[str, str]:
        return self.plan.item_key(item)


@dataclass(frozen=True)
class Stream:
    """One Query of a merge: a partition of the base table or an index, optionally only the sort keys under
    `prefix`. Every stream of a merge sorts on the same *position* (its sort key minus the prefix), which ends in the
    ticket's ULID; `size` is how many items it holds when counters know it (a hint for read sizes; 0 skips it)."""

    index: str | None
    partition: str
    prefix: str = ""
    size: int | None = None


def _step(position: str, delta: int) -> str | None:
    """The position just before (-1) or after (+1) `position` (whose last 26 characters are a ULID)."""
    head, tail = position[:-26], position[-26:]
    stepped = ids.before(tail) if delta < 0 else ids.after(tail)
    return head + stepped if stepped is not None else None


@dataclass
class _Lane:
    plan: QueryPlan
    sort_attr: str
    prefix: str
    size: int | None
    start: dict[str, str] | None = None
    buffer: list[dict[str, Any]] = field(default_factory=list)  # reversed: the next item is last
    ended: bool = False


class MergeSource(Source):
    """Several Queries merged on their shared position, newest (or oldest) first: a k-way merge that reads each
    stream in chunks proportional to its share (from `Stream.size`), so a page reads little more than it returns.

    An item is handed out only when every stream that may still hold an earlier one has an item buffered, so the
    order is exact; a resumed merge starts every stream just past the cursor's position (`after`)."""

    def __init__(
        self,
        streams: Sequence[Stream],
        *,
        forward: bool,
        budget: Budget,
        low: str | None = None,
        high: str | None = None,
        after: str | None = None,
    ) -> None:
        from tickets.dal import keys

        self.forward, self.budget = forward, budget
        self.lanes: list[_Lane] = []
        if after is not None:  # resume just past the cursor's position
            bound = _step(after, 1 if forward else -1)
            if bound is None:
                return  # nothing lies beyond the first (or last) possible position
            if forward:
                low = bound if low is None else max(low, bound)
            else:
                high = bound if high is None else min(high, bound)
        if low is not None and high is not None and low > high:
            return
        for s in streams:
            if s.size == 0:
                continue
            sort_attr = keys.INDEX_KEYS[s.index][1] if s.index else keys.SK
            lo = s.prefix + low if low is not None else (s.prefix or None)
            hi = s.prefix + high if high is not None else (s.prefix + "~" if s.prefix else None)
            self.lanes.append(_Lane(QueryPlan(s.index, s.partition, lo, hi, forward), sort_attr, s.prefix, s.size))

    @property
    def ended(self) -> bool:
        return all(lane.ended and not lane.buffer for lane in self.lanes)

    def position(self, item: dict[str, Any], lane: _Lane | None = None) -> str:
        lane = lane or self.lanes[0]
        return str(item[lane.sort_attr])[len(lane.prefix) :]

    def _fill(self, lane: _Lane, hint: int, reserved: int) -> bool:
        """Read the lane's next chunk, leaving `reserved` items of the budget for the other lanes that need a read;
        False when the budget cannot pay for it."""
        open_lanes = [x for x in self.lanes if not x.ended]
        if len(open_lanes) == 1:
            chunk = hint
        else:
            sizes = [x.size for x in open_lanes]
            known = lane.size is not None and None not in sizes
            share = (lane.size or 0) / max(1, sum(s or 0 for s in sizes)) if known else 1 / len(open_lanes)
            chunk = math.ceil(hint * share) + 1
        if lane.size is not None:
            chunk = min(chunk, lane.size + 1)  # all of it, and no LastEvaluatedKey to follow up
        limit = min(max(chunk, 1), self.budget.left - reserved, MAX_QUERY_LIMIT)
        if limit <= 0:
            return False
        items, lane.start = query(lane.plan, limit=limit, start_key=lane.start)
        self.budget.spend(len(items))
        lane.buffer = items[::-1]
        lane.ended = lane.start is None
        if lane.size is not None:
            lane.size = max(0, lane.size - len(items))
        return True

    def next(self, hint: int) -> dict[str, Any] | None:
        empty = [lane for lane in self.lanes if not lane.buffer and not lane.ended]
        for i, lane in enumerate(empty):
            if not self._fill(lane, hint, reserved=len(empty) - i - 1):
                return None  # the budget is spent before every stream could be compared
        ready = [lane for lane in self.lanes if lane.buffer]
        if not ready:
            return None
        pick = (min if self.forward else max)(ready, key=lambda lane: self.position(lane.buffer[-1], lane))
        item = pick.buffer.pop()
        item["__position"] = self.position(item, pick)
        return item

    def resume_key(self, item: dict[str, Any]) -> dict[str, str]:
        return {"p": item["__position"]}


@dataclass
class Page:
    """What examining a source found."""

    rows: list[dict[str, Any]]
    matches: int  # matches seen: skipped by the offset, returned, the one after the page, counted after it
    consumed_matches: int  # of those, the ones before the resume position (skipped and returned)
    resume: dict[str, Any] | None  # the last item examined and accounted for, when a next page may follow
    skip_left: int
    ended: bool


def examine(
    source: Source,
    *,
    skip: int,
    limit: int,
    predicate: Predicate,
    count_rest: bool = False,
    density: float | None = None,
) -> Page:
    """Read `source` until `skip` matches are passed and `limit` more are kept, plus one to prove a next page, or
    until the range or the budget ends. With `count_rest`, matches after the page are counted within the budget
    (a total for lists no counter keeps). `density`: the share of items expected to match, when the caller knows
    it (the planner's counters): the first read asks for what should fill the page."""
    rows: list[dict[str, Any]] = []
    matches = consumed = examined = 0
    last: dict[str, Any] | None = None
    full = False
    while True:
        need = skip + (limit - len(rows)) + 1
        if predicate is None:
            hint = need
        elif not examined:  # what should fill the page: the planner's density, else a batch
            hint = FILTERED_BATCH if density is None else math.ceil(need / max(density, 0.01)) + 1
        else:  # what should fill the rest at the density seen so far (none seen: grow fast)
            hint = math.ceil(need * examined / max(matches, 1)) + 1
        item = source.next(max(hint, need))
        if item is None:
            break
        examined += 1
        if predicate is not None and not predicate(item):
            last = item
            continue
        matches += 1
        if len(rows) == limit and not skip:
            full = True  # one match past the page: not consumed, the next page starts with it
            break
        consumed += 1
        if skip:
            skip -= 1
        else:
            rows.append(item)
        last = item
    if full and count_rest:
        while (item := source.next(MAX_QUERY_LIMIT)) is not None:
            matches += predicate is None or predicate(item)
    more = full or not source.ended
    return Page(rows, matches, consumed, last if more else None, skip, source.ended)


def envelope(
    found: Page,
    source: Source,
    q: PageQuery,
    fp: str,
    meta: dict[str, int],
    *,
    total: int | None = None,
) -> dict[str, Any]:
    """The list envelope of an examined page. `total`: the exact count from counters; otherwise the matches seen
    (after those the cursor says came before), exact only when this request read the whole range."""
    seen = meta.get("n", 0)
    if total is None:
        total, exact = seen + found.matches, found.ended and not q.cursor
    else:
        exact = True
    next_cursor = None
    if found.resume is not None:
        state = {"n": seen + found.consumed_matches, "o": found.skip_left}
        next_cursor = cursors.encode(source.resume_key(found.resume), fp, state)
    elif not found.ended:  # the budget ran out before a single item could be examined: resume where this began
        next_cursor = q.cursor
    return {
        "data": [strip_keys({k: v for k, v in r.items() if k != "__position"}) for r in found.rows],
        "total": total,
        "totalExact": exact,
        "limit": q.limit,
        "offset": 0 if q.cursor else q.offset,
        "nextCursor": next_cursor,
    }


def query_fingerprint(tenant_id: str, q: PageQuery, **extra: Any) -> str:
    """The fingerprint a cursor is bound to: the tenant and every parameter of the query but the paging ones."""
    return cursors.fingerprint(tenant_id, {**q.model_dump(mode="json", exclude={"cursor", "offset", "limit"}), **extra})


def page(
    tenant_id: str,
    plan: QueryPlan,
    q: PageQuery,
    *,
    predicate: Predicate = None,
    total: int | None = None,
    count_rest: bool = False,
) -> dict[str, Any]:
    """One bounded page of `plan`'s items as a list envelope (`total` from counters when given, see envelope()).

    Unfiltered, a cursor page reads `limit + 1` items whatever its depth; an offset page reads and discards
    `offset` items first (DynamoDB has no OFFSET), which is why offset + limit is capped at the budget.
    """
    fp = query_fingerprint(tenant_id, q)
    start, meta = cursors.decode_with_meta(q.cursor, fp, tenant_id, plan.cursor_attrs) if q.cursor else (None, {})
    if start is not None and not _within(plan, start):
        # Same tenant and filters, another parent (the history of another ticket, the log of another webhook):
        # DynamoDB refuses a start key outside the key condition, which would be a 500.
        raise cursors.invalid()
    source = QuerySource(plan, start, Budget())
    skip = meta.get("o", 0) if q.cursor else q.offset
    found = examine(source, skip=skip, limit=q.limit, predicate=predicate, count_rest=count_rest)
    return envelope(found, source, q, fp, meta, total=total)


def _within(plan: QueryPlan, key: dict[str, str]) -> bool:
    """Whether `key` lies inside the plan's key condition: its partition, between its sort bounds."""
    pk_attr, sk_attr = plan.key_attrs
    sk = key[sk_attr]
    return (
        key[pk_attr] == plan.partition
        and (plan.sort_low is None or sk >= plan.sort_low)
        and (plan.sort_high is None or sk <= plan.sort_high)
    )


def count(source: Source, predicate: Predicate) -> tuple[int, bool]:
    """Matches of `predicate` in `source` within its budget: (count, whether the whole range was read)."""
    n = 0
    while (item := source.next(MAX_QUERY_LIMIT)) is not None:
        n += predicate is None or predicate(item)
    return n, source.ended
