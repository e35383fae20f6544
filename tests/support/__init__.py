"""Test support that runs for real next to the apps: a recording subscriber app (with its own
daprd) and helpers to start it and market-data on a ``LocalPlatform``; and the strategies and
checks of the apps' HTTP fuzz tests (``fuzz``)."""
