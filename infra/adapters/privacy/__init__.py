"""Retention and erasure of pupil data (issue #5): per-pupil keys, the retention run, erasure.

Words: a *pupil key* seals one participant's identifying fields (:mod:`services.casework.sealing`);
*erasing* destroys such keys; the *retention period* is how many days after closing a school keeps
a case's pupil data (registry, default two years).
"""
