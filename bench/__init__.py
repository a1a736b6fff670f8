"""Benchmark of the API clients against a reference-style baseline and the floor (`python -m bench`, `make bench`)."""
