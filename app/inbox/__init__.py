"""The webhook inbox: verified events stored once and handled once, in jobs."""
