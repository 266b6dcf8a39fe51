"""Attendees (tickets): the heart of Tessera."""
