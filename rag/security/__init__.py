"""API keys with scopes, and the tamper-evident audit trail."""
