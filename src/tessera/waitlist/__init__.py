"""The waitlist of sold-out ticket classes (SPEC §9): joining, offers of freed seats, claims."""
