"""rm_rl: see README (builds on acesandbox)."""
