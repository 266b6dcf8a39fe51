"""Events: what tickets are for."""
