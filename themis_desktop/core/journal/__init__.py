"""The journal: SQLite storage of sessions, events, backups; its export."""
