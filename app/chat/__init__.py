"""Channel chat: messages, history and moderation."""
