"""Benchmarks: one script per question asked of the system (run as ``python -m benchmarks.<name>``)."""
