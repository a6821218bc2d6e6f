"""streampools tests."""
