"""The one module that knows key formats. No other module spells a `TENANT#...` string.

Every item that belongs to a tenant lives under partition key `TENANT#<tenantId>`, and every index
partition key starts with the same prefix, so no key built from a request can reach another tenant.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

PK, SK = "PK", "SK"
# Secondary indexes, declared in template.yaml. Sort keys of the ticket indexes start with the
# time-ordered ticket id (or updatedAt), so every index lists newest or oldest first.
BY_STATUS = "GSI1"  # tickets of one status and one priority (every ticket)
BY_CUSTOMER = "GSI2"  # tickets of one customer (sparse)
BY_ASSIGNEE = "GSI3"  # tickets of one agent and one status, or a group's unassigned ones (sparse)
BY_UPDATED = "GSI4"  # all tickets by updatedAt
BY_DUE = "DUE"  # unfinished tickets that have a dueAt, by dueAt (per tenant)
SLA_DUE = "SLADUE"  # every tenant's tickets with an open SLA stage, by the instant the sweep must act (global)
WAITING = "GSI5"  # tickets waiting in a group's queue (sparse): most urgent first, then oldest
INDEX_KEYS = {
    BY_STATUS: ("GSI1PK", "GSI1SK"),
    BY_CUSTOMER: ("GSI2PK", "GSI2SK"),
    BY_ASSIGNEE: ("GSI3PK", "GSI3SK"),
    BY_UPDATED: ("GSI4PK", "GSI4SK"),
    BY_DUE: ("DUEPK", "DUESK"),
    SLA_DUE: ("SLADUEPK", "SLADUESK"),
    WAITING: ("GSI5PK", "GSI5SK"),
}
TICKET_PREFIX = "TICKET#"
CUSTOMER_PREFIX = "CUSTOMER#"
TAG_PREFIX = "TAG#"
APIKEY_META_PREFIX = "APIKEY#"


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def tenant(tenant_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: "TENANT"}


def counts(tenant_id: str) -> dict[str, str]:
    """The tenant's counts of customers, tags and agents (ticket counts have items of their own, below)."""
    return {PK: tenant_pk(tenant_id), SK: "COUNTS"}


# Ticket counters: one small item per dimension value, each moved in the ticket's own transactions
# (dal/counters.py), so that list totals of the shapes they cover are exact without a walk.
TICKET_COUNTS_PREFIX = "COUNTS#"  # every ticket counter item (the COUNTS item itself sorts before it)
# `<status>#<priority>`, `assigned#<status>` (tickets with an assignee), `grouped#<status>` (tickets with a group)
TICKET_COUNTS = "COUNTS#TICKETS"
# Set on COUNTS#TICKETS when the tenant is made (or reindexed): without it the counters predate the tenant's tickets.
COUNTERS_SINCE = "since"


def ticket_counts(tenant_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: TICKET_COUNTS}


def assignee_counts(tenant_id: str, agent_id: str) -> dict[str, str]:
    """`status#<status>`: the agent's tickets by status."""
    return {PK: tenant_pk(tenant_id), SK: f"COUNTS#ASSIGNEE#{agent_id}"}


def customer_counts(tenant_id: str, customer_id: str) -> dict[str, str]:
    """`status#<status>`: the customer's tickets by status."""
    return {PK: tenant_pk(tenant_id), SK: f"COUNTS#CUSTOMER#{customer_id}"}


def status_priority_attr(status: str, priority: str) -> str:
    return f"{status}#{priority}"


def assigned_attr(status: str) -> str:
    return f"assigned#{status}"


# Powertools idempotency names its sort keys `<prefix>#<md5 of the route and the Idempotency-Key>`.
IDEMPOTENCY_SK_PREFIX = "REQUEST"


def idempotency_partition(tenant_id: str) -> str:
    """Partition of a tenant's Idempotency-Key records (Powertools' `static_pk_value`), one per tenant."""
    return f"{tenant_pk(tenant_id)}#IDEMPOTENCY"


def consumer_idempotency_partition(consumer: str) -> str:
    """Partition of a stream consumer's Powertools idempotency records (`static_pk_value`), keyed by event id."""
    return f"IDEMPOTENCY#{consumer}"


def api_key_lookup(key_hash: str) -> dict[str, str]:
    """Global lookup item for an API key hash (the hash is all the caller gives us)."""
    return {PK: f"APIKEY#{key_hash}", SK: "APIKEY"}


def api_key_meta(tenant_id: str, key_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{APIKEY_META_PREFIX}{key_id}"}


def ticket(tenant_id: str, ticket_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{TICKET_PREFIX}{ticket_id}"}


def ticket_id_from_sk(sk: str) -> str:
    return sk.removeprefix(TICKET_PREFIX)


def ticket_ref(tenant_id: str, number: int) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"TICKETREF#{number:012d}"}


def ticket_index_keys(tenant_id: str, item: dict) -> dict[str, str]:
    """Index attributes of a ticket item, derived from its fields; sparse where the field is null.

    GSI1 and GSI3 partitions are composite (status x priority; assignee x status, or for an unassigned ticket of a
    group, its group x unfinished-or-not) so that the queue shapes ("urgent open tickets", "my open tickets", "a group's
    unassigned tickets") are one Query each; a shape that names fewer of the parts is a merge of the partitions it
    spans, on the shared ULID sort key (logic/ticket_lists.py).
    """
    tid = item["id"]
    keys = {
        "GSI1PK": status_partition(tenant_id, item["status"], item["priority"]),
        "GSI1SK": tid,
        "GSI4PK": updated_partition(tenant_id),
        "GSI4SK": f"{item['updatedAt']}#{tid}",
    }
    if item.get("customerId"):
        keys |= {"GSI2PK": customer_partition(tenant_id, item["customerId"]), "GSI2SK": tid}
    if item.get("assigneeId"):
        keys |= {"GSI3PK": assignee_partition(tenant_id, item["assigneeId"], item["status"]), "GSI3SK": tid}
    elif item.get("groupId"):  # a group's unassigned tickets; an unassigned ticket of no group is in no GSI3 partition
        unfinished = item["status"] not in _FINISHED
        keys |= {"GSI3PK": unassigned_partition(tenant_id, item["groupId"], unfinished), "GSI3SK": tid}
    if item.get("dueAt") and item["status"] not in ("resolved", "closed"):
        keys |= {"DUEPK": due_partition(tenant_id), "DUESK": f"{item['dueAt']}#{tid}"}
    if next_at := (item.get("sla") or {}).get("nextAt"):
        keys |= sla_due_keys(tenant_id, tid, next_at, item.get("updatedAt"))
    if waits(item):  # only while the ticket waits in its group's queue: the index is sparse
        keys |= {"GSI5PK": waiting_partition(tenant_id, item["groupId"]), "GSI5SK": waiting_sort(item["priority"], tid)}
    return keys


def due_partition(tenant_id: str) -> str:
    """A tenant's unfinished tickets that have a due time, soonest first: the "overdue" queue is one Query."""
    return f"{tenant_pk(tenant_id)}#DUE"


# The breach sweep's index has no tenant in its partition key (the sweep serves every tenant). Its partitions are
# minute buckets of the instant the sweep must act, each spread over SLA_DUE_SHARDS shards by a hash of the ticket,
# so one minute's deadlines of every tenant never pile onto one partition. A bucket is never earlier than the
# minute it is written in: a deadline already past lands in the current bucket, which the sweep has yet to read.
SLA_DUE_SHARDS = 8
SLA_BUCKET_FORMAT = "%Y-%m-%dT%H:%M"


def sla_due_shard(tenant_id: str, ticket_id: str) -> int:
    return hashlib.sha256(f"{tenant_id}/{ticket_id}".encode()).digest()[0] % SLA_DUE_SHARDS


def sla_due_partition(bucket: str, shard: int) -> str:
    return f"SLADUE#{bucket}#{shard}"


def sla_due_keys(tenant_id: str, ticket_id: str, next_at: str, written_at: str | None = None) -> dict[str, str]:
    """SLADUEPK/SLADUESK of a ticket whose next SLA deadline is `next_at` (ISO UTC); bucket: its minute, or the
    minute of `written_at` (now if None) when that is later."""
    bucket = next_at[:16]
    current = written_at[:16] if written_at else datetime.now(UTC).strftime(SLA_BUCKET_FORMAT)
    return {
        "SLADUEPK": sla_due_partition(max(bucket, current), sla_due_shard(tenant_id, ticket_id)),
        "SLADUESK": f"{next_at}#{tenant_id}#{ticket_id}",
    }


def parse_sla_due_sk(sk: str) -> tuple[str, str, str]:
    """(nextAt, tenantId, ticketId) of a SLADUESK."""
    next_at, tenant_id, ticket_id = sk.split("#")
    return next_at, tenant_id, ticket_id


def sla_sweep_checkpoint() -> dict[str, str]:
    """The first minute bucket the breach sweep has not finished (global: the sweep has no tenant)."""
    return {PK: "SLASWEEP", SK: "CHECKPOINT"}


def business_hours(tenant_id: str, business_hours_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"BUSINESSHOURS#{business_hours_id}"}


BUSINESS_HOURS_PREFIX = "BUSINESSHOURS#"  # business_hours()' sort keys: the tenant's calendars are one Query
SLA_POLICY_PREFIX = "SLAPOLICY#"


def sla_policy(tenant_id: str, position: int, policy_id: str) -> dict[str, str]:
    """An SLA policy, sorted by position (then id): the policies in matching order are one Query of the prefix."""
    return {PK: tenant_pk(tenant_id), SK: f"{SLA_POLICY_PREFIX}{position:06d}#{policy_id}"}


def sla_policy_pointer(tenant_id: str, policy_id: str) -> dict[str, str]:
    """Where a policy sits (its position), by id: GET, PATCH and DELETE by id read it first."""
    return {PK: tenant_pk(tenant_id), SK: f"SLAPOLICYID#{policy_id}"}


_FINISHED = ("resolved", "closed")
# Most urgent first: the waiting index sorts on this rank, then on the (time-ordered) ticket id.
PRIORITY_RANK = {"critical": 0, "urgent": 1, "high": 2, "medium": 3, "low": 4}


def waits(ticket: dict | None) -> bool:
    """A ticket in a group's queue: it has a group, no assignee, and is not resolved or closed."""
    return bool(
        ticket and ticket.get("groupId") and not ticket.get("assigneeId") and ticket.get("status") not in _FINISHED
    )


def waiting_partition(tenant_id: str, group_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#GROUP#{group_id}#WAITING"


def waiting_sort(priority: str, ticket_id: str) -> str:
    return f"{PRIORITY_RANK.get(priority, 9)}#{ticket_id}"


def waiting_ticket_id(sort_key: str) -> str:
    return sort_key.partition("#")[2]


# The index attributes ticket_index_keys() may write: a rewrite of a ticket sets those it derives and removes the rest.
TICKET_INDEX_ATTRS = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK")


def status_partition(tenant_id: str, status: str, priority: str) -> str:
    return f"{tenant_pk(tenant_id)}#STATUS#{status}#PRIORITY#{priority}"


def customer_partition(tenant_id: str, customer_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#CUSTOMER#{customer_id}"


def assignee_partition(tenant_id: str, agent_id: str, status: str) -> str:
    """An agent's tickets of one status."""
    return f"{tenant_pk(tenant_id)}#ASSIGNEE#{agent_id}#STATUS#{status}"


def unassigned_partition(tenant_id: str, group_id: str, unfinished: bool) -> str:
    """The unassigned tickets of a group, unfinished ones or the others: a group's unassigned queue is one partition.
    (Unassigned tickets of no group are in no GSI3 partition: every index entry is a write on every change.)"""
    state = "OPEN" if unfinished else "DONE"
    return f"{tenant_pk(tenant_id)}#GROUP#{group_id}#UNASSIGNED#{state}"


def updated_partition(tenant_id: str) -> str:
    return f"{tenant_pk(tenant_id)}#TICKETS"


def customer(tenant_id: str, customer_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{CUSTOMER_PREFIX}{customer_id}"}


def customer_external(tenant_id: str, external_id: str) -> dict[str, str]:
    """Uniqueness guard and lookup for a customer's externalId; holds the customer's snapshot."""
    return {PK: tenant_pk(tenant_id), SK: f"CUSTOMEREXT#{external_id}"}


def tag(tenant_id: str, tag_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{TAG_PREFIX}{tag_id}"}


def tag_name(tenant_id: str, name: str) -> dict[str, str]:
    """Uniqueness guard for tag names (case-insensitive)."""
    return {PK: tenant_pk(tenant_id), SK: f"TAGNAME#{name.casefold()}"}


WEBHOOK_PREFIX = "WEBHOOK#"


def webhook(tenant_id: str, webhook_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{WEBHOOK_PREFIX}{webhook_id}"}


def delivery(tenant_id: str, webhook_id: str, delivery_id: str) -> dict[str, str]:
    """A delivery of one event to one endpoint: its state, attempt count and the event to send."""
    return {PK: tenant_pk(tenant_id), SK: f"DELIVERY#{webhook_id}#{delivery_id}"}


def delivery_attempt(tenant_id: str, webhook_id: str, delivery_id: str, attempt: int) -> dict[str, str]:
    """One line of an endpoint's delivery log; sorts by delivery (time-ordered id), then attempt."""
    return {PK: tenant_pk(tenant_id), SK: f"{attempts_prefix(webhook_id)}{delivery_id}#{attempt:03d}"}


def attempts_prefix(webhook_id: str) -> str:
    return f"ATTEMPT#{webhook_id}#"


def history(tenant_id: str, ticket_id: str, version: int, kind: str) -> dict[str, str]:
    """One entry of a ticket's audit trail, in version order (deterministic: re-runs overwrite)."""
    return {PK: tenant_pk(tenant_id), SK: f"{history_prefix(ticket_id)}{version:010d}#{kind}"}


def history_prefix(ticket_id: str) -> str:
    return f"HISTORY#{ticket_id}#"


VIEW_PREFIX = "VIEW#"


def view(tenant_id: str, view_id: str) -> dict[str, str]:
    """A saved view (conditions and sort), shared or an agent's own; the tenant's views are one Query of the prefix."""
    return {PK: tenant_pk(tenant_id), SK: f"{VIEW_PREFIX}{view_id}"}


AGENT_PREFIX = "AGENT#"


def agent(tenant_id: str, agent_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{AGENT_PREFIX}{agent_id}"}


GROUP_PREFIX = "GROUP#"


def group(tenant_id: str, group_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{GROUP_PREFIX}{group_id}"}


def group_counts(tenant_id: str, group_id: str) -> dict[str, str]:
    """`status#<status>` (the group's tickets) and `unassigned#<status>` (those without an assignee): a group with
    unfinished tickets cannot be deleted, and its queues' totals are exact."""
    return {PK: tenant_pk(tenant_id), SK: f"COUNTS#GROUP#{group_id}"}


def unassigned_attr(status: str) -> str:
    return f"unassigned#{status}"


def grouped_attr(status: str) -> str:
    return f"grouped#{status}"


def routed(tenant_id: str, trigger: str) -> dict[str, str]:
    """How many waiting tickets one routing trigger (a freed slot, an agent now able to take more) has assigned:
    the waiting-tickets consumer's idempotency under stream re-runs. Expires (TTL) after two days."""
    return {PK: tenant_pk(tenant_id), SK: f"ROUTED#{trigger}"}


# Groups whose queues wait for their business hours to open (every tenant: the scheduled reopen run reads them all,
# by opening time, with one Query of this partition; no Scan).
REOPEN_PARTITION = "ROUTING#REOPEN"


def reopen(opens_at: str, tenant_id: str, group_id: str) -> dict[str, str]:
    """A group's waiting tickets are to be routed at `opens_at` (ISO UTC), when its business hours open."""
    return {PK: REOPEN_PARTITION, SK: f"{opens_at}#{tenant_id}#{group_id}"}


def parse_reopen_sk(sk: str) -> tuple[str, str, str]:
    """(opensAt, tenantId, groupId) of a reopen item's sort key."""
    opens_at, tenant_id, group_id = sk.split("#")
    return opens_at, tenant_id, group_id


def dedupe(tenant_id: str, dedupe_key: str) -> dict[str, str]:
    """Points at the unfinished ticket a business event's dedupeKey belongs to (or a creation in flight)."""
    return {PK: tenant_pk(tenant_id), SK: f"DEDUPE#{dedupe_key}"}


def status_count_attr(status: str) -> str:
    return f"status#{status}"


def month_usage_attr(month: str) -> str:
    return f"used#{month}"


COMMENT_PREFIX = "COMMENT#"


def comment(tenant_id: str, ticket_id: str, comment_id: str) -> dict[str, str]:
    """One comment of a ticket's conversation; sorts by ticket, then time (comment ids are ULIDs)."""
    return {PK: tenant_pk(tenant_id), SK: f"{comments_prefix(ticket_id)}{comment_id}"}


def comments_prefix(ticket_id: str) -> str:
    return f"{COMMENT_PREFIX}{ticket_id}#"


ATTACHMENT_PREFIX = "ATTACHMENT#"


def attachment(tenant_id: str, attachment_id: str) -> dict[str, str]:
    return {PK: tenant_pk(tenant_id), SK: f"{ATTACHMENT_PREFIX}{attachment_id}"}


def reply_token(token: str) -> dict[str, str]:
    """Global lookup of a ticket's email reply token (`reply+<token>@<domain>`): the token is all a mail carries."""
    return {PK: f"REPLYTOKEN#{token}", SK: "REPLYTOKEN"}


def message_id(tenant_id: str, message_id_hash: str) -> dict[str, str]:
    """A Message-ID the tenant sent or received, by its hash: which ticket an In-Reply-To or References names."""
    return {PK: tenant_pk(tenant_id), SK: f"MSGID#{message_id_hash}"}


def attachment_object(tenant_id: str, attachment_id: str) -> str:
    """The S3 key of an attachment's file: tenant-prefixed, like every table key. Only our code writes here."""
    return f"t/{tenant_id}/{attachment_id}"


UPLOAD_PREFIX = "u/"  # the bucket's notification and lifecycle rule name it (template.yaml)


def attachment_upload(tenant_id: str, attachment_id: str) -> str:
    """The S3 key a client's presigned POST writes (and may write again until the form expires); the checker
    copies a file it accepts to attachment_object(), where no client can replace it."""
    return f"{UPLOAD_PREFIX}{tenant_id}/{attachment_id}"


def parse_attachment_upload(key: str) -> tuple[str, str] | None:
    """(tenantId, attachmentId) of an upload key, or None for any other key."""
    prefix, sep, rest = key.partition("/")
    tenant_id, sep2, attachment_id = rest.partition("/")
    if f"{prefix}{sep}" != UPLOAD_PREFIX or not sep2 or not tenant_id or not attachment_id or "/" in attachment_id:
        return None
    return tenant_id, attachment_id


def inbound_address(prefix: str) -> dict[str, str]:
    """Global lookup of a tenant's inbound address `<ticket prefix, lowercase>@<InboundEmailDomain>`, by its local
    part: the address is all a received mail carries. Its conditional Put makes ticket prefixes unique."""
    return {PK: f"INBOUNDADDR#{prefix.lower()}", SK: "INBOUNDADDR"}


def customer_email(tenant_id: str, email: str, customer_id: str) -> dict[str, str]:
    """One customer's (normalised) email: inbound mail finds its sender's customer, the oldest when several share it."""
    return {PK: tenant_pk(tenant_id), SK: f"{customer_email_prefix(email)}{customer_id}"}


def customer_email_prefix(email: str) -> str:
    return f"CUSTOMEREMAIL#{email}#"


def realtime_token(token_hash: str) -> dict[str, str]:
    """Global lookup of a real-time token by its SHA-256: a WebSocket's $connect carries only the token."""
    return {PK: f"RTTOKEN#{token_hash}", SK: "RTTOKEN"}


CONNECTION_PREFIX = "CONN#"


def connection(tenant_id: str, connection_id: str) -> dict[str, str]:
    """An open WebSocket connection of the tenant (its agent and key): the push consumer Queries them by prefix."""
    return {PK: tenant_pk(tenant_id), SK: f"{CONNECTION_PREFIX}{connection_id}"}


def connection_lookup(connection_id: str) -> dict[str, str]:
    """Global lookup from a connection id to its tenant: $disconnect and $default get nothing but the id."""
    return {PK: f"{CONNECTION_PREFIX}{connection_id}", SK: "CONN"}


def feed_partition(tenant_id: str) -> str:
    """The tenant's change feed (GET /v1/events): one item per event, sorted by feed position (logic/feed.py)."""
    return f"{tenant_pk(tenant_id)}#FEED"


def feed_position(at: str, event_id: str | None = None) -> str:
    """A place in the feed: `<ISO ms time the feed writer wrote it>#<event id>` for an item; the bare time for a
    position between items (where a page that read to the safety horizon ends, or where `since` starts)."""
    return f"{at}#{event_id}" if event_id else at


def feed_item(tenant_id: str, position: str) -> dict[str, str]:
    return {PK: feed_partition(tenant_id), SK: position}


def feed_marker(tenant_id: str, event_id: str) -> dict[str, str]:
    """The guard that an event is in the feed already: its position changes on every attempt, its id never."""
    return {PK: f"{tenant_pk(tenant_id)}#FEEDEVT", SK: f"FEEDEVT#{event_id}"}
