"""Private API backend: caller identity echo and per-account items CRUD on DynamoDB."""
