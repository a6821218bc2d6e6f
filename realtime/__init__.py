"""streampools realtime."""
