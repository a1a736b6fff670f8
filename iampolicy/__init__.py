"""IAM policy evaluation as AWS does it for this project's policies; standard library only (no moto, no emulation)."""
