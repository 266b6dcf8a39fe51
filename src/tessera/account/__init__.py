"""Dashboard accounts: users, their role in each organization, sessions and the sign-in throttle."""
