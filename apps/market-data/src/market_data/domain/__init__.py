"""Pure market-data rules: normalisation, sequencing, synthetic and replayed markets, circuit
breaking and rate budgets. No I/O, no clocks, no frameworks."""
