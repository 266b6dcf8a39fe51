"""Payments: one per Create Attendee request, grouping the tickets it issued."""
