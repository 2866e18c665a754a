"""Jobs on Dramatiq (DESIGN.md §6): the broker carries hints, the database holds the truth.

- :mod:`adapters.jobs` — the job registry: jobs are plain functions registered with
  :func:`~adapters.jobs.job`, sent through :func:`~adapters.jobs.actor_for`.
- :mod:`entrypoints.worker.broker` — the broker from ``BROKER_URL`` (RabbitMQ, Redis, or the
  in-process
  stub) and its middleware (retries, time limit, dead letters); every registered job is declared
  as a Dramatiq actor on whichever broker :func:`~entrypoints.worker.broker.setup_broker` created
  last.
- :mod:`entrypoints.worker.actors` — the jobs themselves (catch a school's projections up; the
  sweep);
  they run against the process's open container (:func:`bootstrap.container.current_container`).
- :mod:`entrypoints.worker.scheduler` — the periodic sweep thread.
- :mod:`entrypoints.worker.inprocess` — a worker inside this process (embedded mode, the demo,
  tests).
- :mod:`entrypoints.worker.run` — ``vangnet worker``.
- :mod:`entrypoints.worker.deadletters` — ``vangnet jobs dead-letters``.

Logs name ids (school, message) and error classes only, never case content.
"""
