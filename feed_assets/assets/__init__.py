"""Thin assets: read the day's inputs, call the pure code, write with SQL, report what happened."""
