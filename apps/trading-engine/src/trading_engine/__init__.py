"""trading-engine service."""
