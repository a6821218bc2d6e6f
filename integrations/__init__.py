"""streampools integrations."""
