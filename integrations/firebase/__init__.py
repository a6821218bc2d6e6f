"""Firebase Cloud Messaging: pushes through the official firebase-admin library."""
