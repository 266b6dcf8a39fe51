"""Ticket classes: the kinds of ticket an event offers, each with its own quantity."""
