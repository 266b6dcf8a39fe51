"""Attendees in and out of spreadsheets: CSV export and import (SPEC §10)."""
