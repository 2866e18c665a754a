"""Public reports: pupils and parents report bullying themselves and follow it up with a code."""
