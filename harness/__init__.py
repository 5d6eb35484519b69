"""harness: see README (builds on acesandbox)."""
