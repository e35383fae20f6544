"""Shared contracts and plumbing for AI Active Trader."""
