"""Exports: a case's file (dossier) for the complaints committee, and a school's full export for
offboarding.

Words used here:

- A **case file** (dossier): one case in Dutch — header, participants, situation, consents,
  steps, agreements, aftercare, complaints, evaluation and the full timeline — built from the
  case's events (:mod:`services.exports.case_file`), printed as PDF here
  (:mod:`infra.adapters.exports.pdf`).
  Every export is recorded in the school's access log before it is handed out.
- A **school export**: every event of the school's log decrypted to JSON, its access log, its
  registry record and configuration, counts, and a SHA-256 beside the file
  (:mod:`infra.adapters.exports.school`). Offboarding (:mod:`tenants.offboarding`) refuses unless
  the
  export matches the database.
"""
