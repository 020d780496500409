"""Stream consumer: every ticket and comment event into its tenant's change feed (GET /v1/events), once."""

from tickets.consumers import stream_consumer
from tickets.logic.feed import record

handler = stream_consumer(record)
