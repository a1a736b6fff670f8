"""The provider's mTLS load balancer, emulated: verify-mode TLS in front of the provider's own endpoint."""
