"""Hardening mechanisms, one module per mechanism (cgroups, namespaces, environment).

Resource limits (rlimits) are applied inside the sandbox by the server, to the job
and test processes only: see ``acesandbox/_sandbox/job.py``.
"""
