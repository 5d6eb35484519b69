"""benchmarks: see README (builds on acesandbox)."""
