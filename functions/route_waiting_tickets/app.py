"""Stream consumer: waiting tickets of a group go to an agent who frees capacity or becomes able to take them."""

from tickets.consumers import record_consumer
from tickets.logic.waiting import on_record

handler = record_consumer(on_record)
