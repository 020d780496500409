"""GET /console and GET /console/{proxy+}: the agent console's static files (static/), with no API key: they hold no
data and no secret. The page may connect to this origin, the real-time WebSocket and the attachments upload
endpoint (its Content-Security-Policy, tickets.api.console)."""

from pathlib import Path

from tickets.api.console import console_handler
from tickets.config import settings
from tickets.integrations.files import upload_endpoint


def connect_to() -> tuple[str, ...]:
    return settings().realtime_url, upload_endpoint()


handler = console_handler(Path(__file__).parent / "static", connect_to)
