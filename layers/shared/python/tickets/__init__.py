"""Shared package of the tickets API: models, domain logic, data access and API helpers."""
