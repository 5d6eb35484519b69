"""Sandbox backends (see base.py)."""
