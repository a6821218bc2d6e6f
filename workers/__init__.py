"""streampools workers."""
