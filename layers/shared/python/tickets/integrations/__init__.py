"""Adapters for talking to things outside the table: webhook targets (SSRF checks, HTTP client), queues, buses."""
