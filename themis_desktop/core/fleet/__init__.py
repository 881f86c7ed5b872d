"""Fleets run through Ansible: the app plans, gates and records; Ansible executes.

`ansible_export` turns a profile and an upgrade plan into an inventory and one playbook per
hop that follow the session's rules (verified backup, stop/install/start, readiness and
version, soak and gate, the six rollback steps)."""
