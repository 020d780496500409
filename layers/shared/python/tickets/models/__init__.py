"""Pydantic models for API input and output. Each resource has its own module so a function imports only its own."""
