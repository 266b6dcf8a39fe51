"""The outbox: side effects written in the business transaction, delivered after commit."""
