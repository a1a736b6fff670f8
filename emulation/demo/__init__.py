"""`make demo` (python -m emulation.demo) and the broken deployments diagnose --demo reads."""
