-- Journal tables of pekko-persistence-jdbc 1.1.x for H2 (the embedded default).
CREATE TABLE IF NOT EXISTS "event_journal" (
  "ordering" BIGINT UNIQUE NOT NULL AUTO_INCREMENT,
  "deleted" BOOLEAN DEFAULT false NOT NULL,
  "persistence_id" VARCHAR(255) NOT NULL,
  "sequence_number" BIGINT NOT NULL,
  "writer" VARCHAR NOT NULL,
  "write_timestamp" BIGINT NOT NULL,
  "adapter_manifest" VARCHAR NOT NULL,
  "event_payload" BLOB NOT NULL,
  "event_ser_id" INTEGER NOT NULL,
  "event_ser_manifest" VARCHAR NOT NULL,
  "meta_payload" BLOB,
  "meta_ser_id" INTEGER,
  "meta_ser_manifest" VARCHAR,
  PRIMARY KEY("persistence_id","sequence_number")
);
CREATE UNIQUE INDEX IF NOT EXISTS "event_journal_ordering_idx" ON "event_journal" ("ordering");
CREATE TABLE IF NOT EXISTS "event_tag" (
  "event_id" BIGINT NOT NULL,
  "tag" VARCHAR NOT NULL,
  PRIMARY KEY("event_id", "tag"),
  CONSTRAINT fk_event_journal FOREIGN KEY("event_id") REFERENCES "event_journal"("ordering") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "snapshot" (
  "persistence_id" VARCHAR(255) NOT NULL,
  "sequence_number" BIGINT NOT NULL,
  "created" BIGINT NOT NULL,
  "snapshot_ser_id" INTEGER NOT NULL,
  "snapshot_ser_manifest" VARCHAR NOT NULL,
  "snapshot_payload" BLOB NOT NULL,
  "meta_ser_id" INTEGER,
  "meta_ser_manifest" VARCHAR,
  "meta_payload" BLOB,
  PRIMARY KEY("persistence_id","sequence_number")
);
-- The read side (a projection of the journal, see read/JobListProjection): one row per job for
-- lists and the dashboard, newest first by the journal ordering of its first event.
CREATE TABLE IF NOT EXISTS job_list(
  job_id VARCHAR(255) PRIMARY KEY,
  list_seq BIGINT NOT NULL,
  state VARCHAR(16) NOT NULL,
  startup VARCHAR(1000) NOT NULL,
  providers VARCHAR(2000) NOT NULL,
  provider VARCHAR(255),
  steps_done INT NOT NULL,
  steps_total INT NOT NULL,
  attempts INT NOT NULL,
  runs INT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  node VARCHAR(255),
  submitted_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT,
  error VARCHAR(2000)
);
CREATE UNIQUE INDEX IF NOT EXISTS job_list_seq_idx ON job_list(list_seq);
CREATE INDEX IF NOT EXISTS job_list_state_seq_idx ON job_list(state, list_seq);
-- Per-minute figures for the dashboard's charts: jobs submitted and finished, and what each
-- provider answered, so a chart never aggregates the whole job table.
CREATE TABLE IF NOT EXISTS job_minute(
  at_minute BIGINT PRIMARY KEY,
  submitted BIGINT NOT NULL,
  succeeded BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  revoked BIGINT NOT NULL,
  duration_ms_sum BIGINT NOT NULL,
  duration_ms_max BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_minute(
  provider VARCHAR(255) NOT NULL,
  at_minute BIGINT NOT NULL,
  steps BIGINT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  PRIMARY KEY(provider, at_minute)
);
-- How far the read side got: the journal write time of the last event it applied.
CREATE TABLE IF NOT EXISTS read_side_progress(
  name VARCHAR(255) PRIMARY KEY,
  last_event_at BIGINT NOT NULL,
  events BIGINT NOT NULL
);
-- Offsets of pekko-projection-jdbc (its own layout, lower-case names).
CREATE TABLE IF NOT EXISTS "pekko_projection_offset_store"(
  "projection_name" VARCHAR(255) NOT NULL,
  "projection_key" VARCHAR(255) NOT NULL,
  "current_offset" VARCHAR(255) NOT NULL,
  "manifest" VARCHAR(4) NOT NULL,
  "mergeable" BOOLEAN NOT NULL,
  "last_updated" BIGINT NOT NULL,
  PRIMARY KEY("projection_name", "projection_key")
);
CREATE INDEX IF NOT EXISTS "projection_name_index" ON "pekko_projection_offset_store"("projection_name");
CREATE TABLE IF NOT EXISTS "pekko_projection_management"(
  "projection_name" VARCHAR(255) NOT NULL,
  "projection_key" VARCHAR(255) NOT NULL,
  "paused" BOOLEAN NOT NULL,
  "last_updated" BIGINT NOT NULL,
  PRIMARY KEY("projection_name", "projection_key")
);
-- API keys (auth/ApiKeys): only a SHA-256 of each secret, and a revoked key keeps its row.
CREATE TABLE IF NOT EXISTS api_keys(
  key_id VARCHAR(32) PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  role VARCHAR(16) NOT NULL,
  secret_hash VARCHAR(128) NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  submits_per_minute INT NOT NULL,
  max_unfinished INT NOT NULL,
  daily_tokens BIGINT NOT NULL,
  daily_cost_usd DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_name_idx ON api_keys(name);
-- Whose job: the key id that submitted it (null without keys).
ALTER TABLE job_list ADD COLUMN IF NOT EXISTS owner VARCHAR(32);
CREATE INDEX IF NOT EXISTS job_list_owner_seq_idx ON job_list(owner, list_seq);
