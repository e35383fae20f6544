"""orchestrator service."""
