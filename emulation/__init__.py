"""Offline two-account emulation on moto: private API gateway, STS front, Lambda sandboxes, accounts, the demo."""
