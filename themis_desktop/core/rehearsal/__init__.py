"""Dress rehearsals of a hop on a copy of its nodes' data: where the copy runs (host.py)
and the run itself (runner.py); the table and the gate are in core/upgrade."""
