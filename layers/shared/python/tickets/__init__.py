"""Shared package of the tickets API: models, logic, data access and API helpers."""

from tickets import coldstart

coldstart.defer_gc()  # before Powertools, pydantic and botocore are imported (see tickets/coldstart.py)
coldstart.register_snapstart_hooks()
