"""Runtime configuration, parsed once per container from the environment."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    region: str = "us-east-1"
    # Upper bound on how long a revoked or rotated API key keeps working in a warm container.
    api_key_cache_seconds: float = Field(default=60.0, ge=0, le=60)
    public_base_url: str = "https://app.example.com"


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        api_key_cache_seconds=float(env.get("API_KEY_CACHE_SECONDS", "60")),
        public_base_url=env.get("PUBLIC_BASE_URL", "https://app.example.com"),
    )
