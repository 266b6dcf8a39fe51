"""Domain-free helpers: identifiers, time, JSON, pagination, money."""
