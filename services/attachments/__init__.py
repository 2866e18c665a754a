"""Evidence attachments on a case: checked, scanned, stored encrypted (issue 14 §1)."""
