"""diagnose.sh: explain why a client of the private API would be denied, from both accounts' live configuration."""
