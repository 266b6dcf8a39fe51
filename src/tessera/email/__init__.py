"""Email: the confirmation and status emails, delivered from the outbox by SMTP or to .eml files."""
