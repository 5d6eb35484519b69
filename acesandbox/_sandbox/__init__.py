"""In-sandbox runtime (stdlib only)."""
