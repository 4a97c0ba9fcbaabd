"""Pure domain logic: no Slack, no SQL, no HTTP (stdlib, tiktoken and orjson only)."""
