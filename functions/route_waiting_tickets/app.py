"""Stream consumer: waiting tickets of a group go to an agent who frees capacity or becomes able to take them.
Scheduled (every minute): the queues of groups whose business hours have just opened are drained."""

from tickets.consumers import record_consumer
from tickets.logic.waiting import on_record, reopen_due

handler = record_consumer(on_record, on_schedule=reopen_due)
