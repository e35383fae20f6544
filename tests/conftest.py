"""Shared test configuration. Tiers: unit (no servers), contract (schemas, provider fakes on
loopback), integration (real servers and daprd), e2e (several apps with real sidecars)."""
