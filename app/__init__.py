"""streampools app."""
