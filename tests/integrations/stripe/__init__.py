"""Tests of the Stripe adapter, against the local fake of Stripe."""
