"""Overlay key tests run in the shared world of tests.worlds."""

from tests.worlds import world

__all__ = ["world"]
