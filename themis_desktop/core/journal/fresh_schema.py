"""The journal's schema as `store.MIGRATIONS` leave a new file: `Journal` creates a new
journal with these statements (no sqlite_utils import at the first start).

Generated; tests/core/journal/test_fresh_schema.py checks it against the migrations and
prints the new text when they change.
"""

FRESH_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE "profiles" (
   "id" INTEGER PRIMARY KEY,
   "name" TEXT NOT NULL,
   "verify_tls" INTEGER,
   "ca_file" TEXT,
   "demo" INTEGER,
   "uses_auth" INTEGER,
   "created_at" TEXT,
   "updated_at" TEXT
, "service" TEXT, "router" TEXT)""",
    """CREATE UNIQUE INDEX "idx_profiles_name"
    ON "profiles" ("name")""",
    """CREATE TABLE "profile_nodes" (
   "id" INTEGER PRIMARY KEY,
   "profile_id" INTEGER REFERENCES "profiles"("id"),
   "position" INTEGER,
   "name" TEXT,
   "url" TEXT,
   "data_dir" TEXT,
   "config_path" TEXT,
   "version_override" TEXT
, "log_source" TEXT)""",
    """CREATE TABLE "sessions" (
   "id" INTEGER PRIMARY KEY,
   "profile_id" INTEGER REFERENCES "profiles"("id"),
   "from_version" TEXT,
   "to_version" TEXT,
   "state" TEXT,
   "created_at" TEXT,
   "created_by" TEXT,
   "ended_at" TEXT
, "profile" TEXT)""",
    """CREATE TABLE "events" (
   "id" INTEGER PRIMARY KEY,
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "ts" TEXT,
   "type" TEXT,
   "user" TEXT,
   "node" TEXT,
   "message" TEXT,
   "data" TEXT
)""",
    """CREATE INDEX "idx_events_session_id_ts"
    ON "events" ("session_id", "ts")""",
    """CREATE INDEX "idx_events_type"
    ON "events" ("type")""",
    """CREATE TABLE "checklist" (
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "hop" TEXT,
   "step_id" TEXT,
   "state" TEXT,
   "at" TEXT,
   "user" TEXT,
   "note" TEXT,
   "reason" TEXT, "choice" TEXT, "choice_label" TEXT,
   PRIMARY KEY ("session_id", "hop", "step_id")
)""",
    """CREATE TABLE "backups" (
   "id" INTEGER PRIMARY KEY,
   "node" TEXT,
   "version" TEXT,
   "path" TEXT,
   "size" INTEGER,
   "sha256" TEXT,
   "created_at" TEXT,
   "verified_at" TEXT,
   "profile" TEXT,
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "consistent" INTEGER,
   "checkpoint" INTEGER
)""",
    """CREATE INDEX "idx_backups_node_created_at"
    ON "backups" ("node", "created_at")""",
    """CREATE TABLE "samples" (
   "profile" TEXT,
   "node" TEXT,
   "at" REAL,
   "step" INTEGER,
   "up" INTEGER,
   "version" TEXT,
   "request_rate" REAL,
   "error_rate" REAL,
   "server_p50_ms" REAL,
   "server_p95_ms" REAL,
   "server_p99_ms" REAL,
   "probe_ms" REAL,
   "rss_bytes" REAL,
   "block_cache_usage_bytes" REAL,
   "pending_compaction_bytes" REAL,
   "estimated_keys" REAL,
   "uptime_seconds" REAL
)""",
    """CREATE INDEX "idx_samples_profile_node_step_at"
    ON "samples" ("profile", "node", "step", "at")""",
    """CREATE INDEX "idx_samples_at"
    ON "samples" ("at")""",
    """CREATE TABLE "baselines" (
   "id" INTEGER PRIMARY KEY,
   "profile" TEXT,
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "kind" TEXT,
   "label" TEXT,
   "start" REAL,
   "end" REAL,
   "source" TEXT,
   "created_at" TEXT,
   "data" TEXT
)""",
    """CREATE INDEX "idx_baselines_profile_created_at"
    ON "baselines" ("profile", "created_at")""",
    """CREATE TABLE "hops" (
   "id" INTEGER PRIMARY KEY,
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "position" INTEGER,
   "from_version" TEXT,
   "to_version" TEXT,
   "state" TEXT,
   "started_at" TEXT,
   "finished_at" TEXT,
   "backups" TEXT,
   "baseline_id" INTEGER,
   "note" TEXT
, "confirmed" INTEGER)""",
    """CREATE UNIQUE INDEX "idx_hops_session_id_position"
    ON "hops" ("session_id", "position")""",
    """CREATE TABLE "rollouts" (
   "id" INTEGER PRIMARY KEY,
   "profile" TEXT,
   "strategy" TEXT,
   "from_version" TEXT,
   "to_version" TEXT,
   "status" TEXT,
   "position" INTEGER,
   "state" TEXT,
   "created_at" TEXT,
   "created_by" TEXT,
   "updated_at" TEXT
)""",
    """CREATE INDEX "idx_rollouts_profile_id"
    ON "rollouts" ("profile", "id")""",
    """CREATE TABLE "log_counts" (
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "hop_id" INTEGER REFERENCES "hops"("id"),
   "phase" TEXT,
   "node" TEXT,
   "level" TEXT,
   "count" INTEGER,
   PRIMARY KEY ("hop_id", "phase", "node", "level")
)""",
    """CREATE INDEX "idx_log_counts_session_id"
    ON "log_counts" ("session_id")""",
    """CREATE TABLE "log_lines" (
   "id" INTEGER PRIMARY KEY,
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "hop_id" INTEGER REFERENCES "hops"("id"),
   "phase" TEXT,
   "node" TEXT,
   "ts" TEXT,
   "level" TEXT,
   "message" TEXT,
   "signature" TEXT
)""",
    """CREATE INDEX "idx_log_lines_hop_id_ts"
    ON "log_lines" ("hop_id", "ts")""",
    """CREATE TABLE "rehearsals" (
   "id" INTEGER PRIMARY KEY,
   "session_id" INTEGER REFERENCES "sessions"("id"),
   "hop_id" INTEGER REFERENCES "hops"("id"),
   "profile" TEXT,
   "kind" TEXT,
   "from_version" TEXT,
   "to_version" TEXT,
   "started_at" TEXT,
   "finished_at" TEXT,
   "verdict" TEXT,
   "reason" TEXT,
   "host" TEXT,
   "scratch_dir" TEXT,
   "kept" INTEGER,
   "backups" TEXT,
   "steps" TEXT,
   "evaluation" TEXT,
   "errors" TEXT,
   "note" TEXT,
   "user" TEXT
)""",
    """CREATE INDEX "idx_rehearsals_hop_id_id"
    ON "rehearsals" ("hop_id", "id")""",
    """CREATE TABLE "write_readings" (
   "id" INTEGER PRIMARY KEY,
   "profile" TEXT,
   "node" TEXT,
   "at" TEXT,
   "uptime_s" REAL,
   "writes" INTEGER,
   "slack" INTEGER,
   "source" TEXT,
   "kind" TEXT,
   "backup_id" INTEGER
)""",
    """CREATE INDEX "idx_write_readings_profile_node_at"
    ON "write_readings" ("profile", "node", "at")""",
)
