"""Audit: tamper evidence of every school's log, checkpoints, and the access log of case reads.

Words used here:

- The **chain** of a log: every stored event linked to the one before by a hash, written with
  the event (:mod:`infra.postgres.chain`). The access log has its own chain.
- A **checkpoint** records a chain's head (position and hash, with the time) in the
  ``platform.chain_checkpoints`` table (:mod:`infra.audit.checkpoints`); a log whose tail was
  rewritten with recomputed hashes no longer matches its earlier checkpoints.
- The **access log** (``<school schema>.case_reads``): who read which case's content, in which
  role, when, and how (:mod:`infra.audit.access_log`).
- **Verifying** a log walks its chain, its access log's chain and its checkpoints
  (:mod:`infra.audit.integrity`; ``vangnet audit verify``).
"""
