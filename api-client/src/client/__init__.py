"""SigV4 clients for a private API Gateway REST API (direct and assume-role Lambda handlers)."""
