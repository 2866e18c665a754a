"""Attachments' adapters: the encrypted files in PostgreSQL, the ClamAV scanner."""
