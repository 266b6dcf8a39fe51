"""Rate limits per API key (per client IP without one), shared through Redis when configured."""
