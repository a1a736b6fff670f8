"""REFERENCE-STYLE BASELINE for the benchmark only: never deployed, not part of the kit."""
