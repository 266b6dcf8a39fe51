"""The public ticket page: ``/t/{payment_id}`` shows a payment's tickets as QR codes."""
