"""Jobs on Dramatiq (DESIGN.md §6): the broker carries hints, the database holds the truth.

- :mod:`infra.adapters.jobs` — the job registry: jobs are plain functions registered with
  :func:`~infra.adapters.jobs.job`, sent through :func:`~infra.adapters.jobs.actor_for`.
- :mod:`infra.entrypoints.worker.broker` — the broker from ``BROKER_URL`` (RabbitMQ, Redis, or the
  in-process
  stub) and its middleware (retries, time limit, dead letters); every registered job is declared
  as a Dramatiq actor on whichever broker :func:`~infra.entrypoints.worker.broker.setup_broker`
  created
  last.
- :mod:`infra.entrypoints.worker.actors` — the jobs themselves (catch a school's projections up; the
  sweep);
  they run against the process's open container
  (:func:`infra.bootstrap.container.current_container`).
- :mod:`infra.entrypoints.worker.scheduler` — the periodic sweep thread.
- :mod:`infra.entrypoints.worker.inprocess` — a worker inside this process (embedded mode, the demo,
  tests).
- :mod:`infra.entrypoints.worker.run` — ``vangnet worker``.
- :mod:`infra.entrypoints.worker.deadletters` — ``vangnet jobs dead-letters``.

Logs name ids (school, message) and error classes only, never case content.
"""
