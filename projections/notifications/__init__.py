"""Notifications view: the outbox of e-mails to send and the reminder schedule (school schema)."""
