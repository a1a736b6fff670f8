"""Offline two-account emulation: policy engine, SigV4 verifier, private API gateway and STS front."""
