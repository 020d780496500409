"""Test helpers shared across tiers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The committed sample event events/<name>.json (name is the function's folder, e.g. create_ticket)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def invoked_http_response(stdout: str) -> tuple[str, dict[str, str], Any]:
    """What `make invoke` printed for an API function: status line, headers (lower-cased names), JSON body."""
    head, _, body = stdout.partition("\n\n")
    status, *header_lines = head.splitlines()
    headers = {name.lower(): val for name, _, val in (line.partition(": ") for line in header_lines)}
    return status, headers, json.loads(body) if body.strip() else None


def ticket_counters(tenant_items: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The tenant's ticket counter items (COUNTS#...) as {sort key: {attribute: count}}, zeros left out."""
    out: dict[str, dict[str, int]] = {}
    for item in tenant_items:
        if str(item["SK"]).startswith("COUNTS#"):
            counts = {k: int(v) for k, v in item.items() if k not in ("PK", "SK", "type", "since") and int(v)}
            if counts:
                out[item["SK"]] = counts
    return out


def expected_ticket_counters(tenant_id: str, tickets: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """What the ticket counter items must hold for these tickets (dal/counters.py recounts them)."""
    from tickets.dal import counters

    return {sk: {k: v for k, v in c.items() if v} for sk, c in counters.totals(tenant_id, tickets).items()}


def ticket_totals(tenant_items: list[dict[str, Any]]) -> dict[str, int]:
    """{"total": n, "status#<status>": n, ...} summed from the status x priority counters (COUNTS#TICKETS)."""
    item = next((i for i in tenant_items if i["SK"] == "COUNTS#TICKETS"), {})
    out = {"total": 0}
    for attr, v in item.items():
        status, sep, _ = str(attr).partition("#")
        if sep and status != "assigned" and attr not in ("PK", "SK"):
            out["total"] += int(v)
            out[f"status#{status}"] = out.get(f"status#{status}", 0) + int(v)
    return out


class TableStream:
    """A table's stream in moto, read from its start; `new()` gives the records not read before, shaped as Lambda
    gives them to a consumer and (unless `filtered=False`) through that consumer's `filters`."""

    def __init__(self, aws: Any, table: str, filters: Iterable[dict[str, Any]]) -> None:
        from tools.eventsources import Clients

        self.client = Clients.create("us-east-1").streams
        self.arn = aws.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.filters = list(filters)
        self.seen: set[str] = set()

    def new(self, *, filtered: bool = True) -> list[dict[str, Any]]:
        from tools.eventsources import matches, stream_record

        out = []
        for shard in self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            iterator = self.client.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                resp = self.client.get_records(ShardIterator=iterator, Limit=1000)
                if not resp["Records"]:
                    break
                iterator = resp.get("NextShardIterator")
                for raw in resp["Records"]:
                    record = stream_record(raw, self.arn, "us-east-1")
                    if record["eventID"] in self.seen:
                        continue
                    self.seen.add(record["eventID"])
                    if not filtered or matches(self.filters, record):
                        out.append(record)
        return out
