"""Stripe: Checkout Sessions through the official library, and verified webhook events."""
