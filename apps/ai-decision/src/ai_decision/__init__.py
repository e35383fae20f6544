"""ai-decision service."""
