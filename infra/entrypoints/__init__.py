"""Entry points: the processes Vangnet runs (web, cli, worker) and how they are deployed."""
