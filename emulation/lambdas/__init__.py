"""Emulated Lambda execution environments: sandbox processes and the runtime inside them."""
