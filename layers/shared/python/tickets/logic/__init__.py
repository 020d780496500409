"""Domain rules. Logic functions take a tenant id and validated input and return plain dicts or models."""
