"""FLOOR for the benchmark: the least work any SigV4 client of the API must do per call."""
