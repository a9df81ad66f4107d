"""HTTP API: wire schemas, routes (HTTP only) and the app factory."""
