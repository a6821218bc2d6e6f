"""Tests of the adapters to outside services."""
