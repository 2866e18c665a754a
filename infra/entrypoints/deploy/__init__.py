"""Deployment files (Containerfile, compose, Kubernetes) and the little they run themselves.

The files are described in ``infra/entrypoints/deploy/README.md``; the one Python module here,
:mod:`infra.entrypoints.deploy.probe`, is the containers' health check (the slim image has no curl).
"""
