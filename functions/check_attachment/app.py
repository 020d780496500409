"""SQS consumer: S3 upload events of the attachments bucket -> each upload checked, then ready or rejected."""

from tickets.consumers import queue_consumer
from tickets.logic.attachments import check_message

handler = queue_consumer(check_message, decode=str)  # the body as it came: a malformed one is dropped, not retried
