"""Operations: Prometheus metrics, request ids on responses and log lines, tracing spans."""
