"""The emulated private REST API: HTTPS listener, request pipeline, SigV4, routes, validation, Lambda proxy, logs."""
