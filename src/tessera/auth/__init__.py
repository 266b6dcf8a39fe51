"""Organizations, API keys, scopes, and the authenticated-principal dependency."""
