"""Audit: tamper evidence of every log, checkpoints, and the access log of case reads.

Words used here:

- The **chain** of a log: every stored event linked to the one before by a keyed hash, written
  with the event (:mod:`infra.adapters.postgres.chain`). The access log has its own chain and key.
- The **trail** (:mod:`infra.adapters.audit.trail`): the keys (all derived from the master key,
  none in
  the database) and the outside sink of one process.
- A **checkpoint** records a chain's head (position and hash, with the time), signed, in the
  ``platform.chain_checkpoints`` table and in the **outside copy**
  (:mod:`infra.adapters.audit.sink`);
  a log cut at its end no longer reaches its last checkpoint
  (:mod:`infra.adapters.audit.checkpoints`).
- The **access log** (``<school schema>.case_reads``): who read which case's content, in which
  role, when, and how (:mod:`infra.adapters.audit.access_log`).
- **Verifying** a log walks its chain (and checks its ciphertexts), its access log's chain and
  its checkpoints (:mod:`infra.adapters.audit.integrity`; ``vangnet audit verify``).
- **Re-sealing** brings a log an older version wrote up to date, once
  (:mod:`infra.adapters.audit.migration`).
"""
