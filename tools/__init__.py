"""Developer tooling: template reader, local stack, admin CLI, OpenAPI generator."""
