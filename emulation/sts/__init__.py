"""The STS front that enforces SigV4 and role trust policies in front of moto's STS."""
