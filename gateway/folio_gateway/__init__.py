"""The gateway: the only service reachable from outside."""
