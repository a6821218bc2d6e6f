"""Cash in (Stripe deposits) and cash out (reviewed withdrawals)."""
