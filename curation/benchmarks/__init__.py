"""Benchmarks run by ``manage.py benchmark`` against the configured database."""
