"""SQS consumer: S3 notifications of the raw email SES stored -> threaded into tickets as inbound comments."""

from tickets.consumers import queue_consumer
from tickets.logic.inbound import receive

handler = queue_consumer(receive)
