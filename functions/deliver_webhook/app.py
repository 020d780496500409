"""SQS consumer: one webhook attempt per message (sign, POST, record, schedule the next)."""

from tickets.consumers import queue_consumer
from tickets.logic.deliveries import deliver

handler = queue_consumer(deliver)
