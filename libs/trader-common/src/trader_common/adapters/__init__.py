"""Adapters for the platform ports: Dapr sidecar (deployment) and in-process (backtests)."""
