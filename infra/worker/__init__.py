"""Jobs on Dramatiq (DESIGN.md §6): the broker carries hints, the database holds the truth.

- :mod:`infra.jobs` — the job registry: jobs are plain functions registered with
  :func:`~infra.jobs.job`, sent through :func:`~infra.jobs.actor_for`.
- :mod:`infra.worker.broker` — the broker from ``BROKER_URL`` (RabbitMQ, Redis, or the in-process
  stub) and its middleware (retries, time limit, dead letters); every registered job is declared
  as a Dramatiq actor on whichever broker :func:`~infra.worker.broker.setup_broker` created last.
- :mod:`infra.worker.actors` — the jobs themselves (catch a school's projections up; the sweep);
  they run against the process's open container (:func:`infra.container.current_container`).
- :mod:`infra.worker.scheduler` — the periodic sweep thread.
- :mod:`infra.worker.inprocess` — a worker inside this process (embedded mode, the demo, tests).
- :mod:`infra.worker.run` — ``vangnet worker``.
- :mod:`infra.worker.deadletters` — ``vangnet jobs dead-letters``.

Logs name ids (school, message) and error classes only, never case content.
"""
