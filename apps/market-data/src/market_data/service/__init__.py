"""Use cases of the market data service over its ports."""
