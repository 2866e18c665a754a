"""``vangnet bench``: the measurements of DESIGN.md §10, side by side, in one run.

Start with :func:`bench.run.main`; every measurement has its own module. See ``bench/README.md``
for what is measured, how, and the latest figures.
"""
