"""Contacts: the people tickets are issued to, one per email address per organization."""
