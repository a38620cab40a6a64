-- Every name is unqualified: the tables live in the first schema of the
-- connection's search_path, as the migration bookkeeping does.
--
-- Times are UTC unix nanoseconds in BIGINT: timestamptz keeps microseconds
-- only, and the store must give back the instants it was handed.
--
-- The tables written on every create (workers, tasks, turns) have no
-- foreign key to orgs or users. A foreign key check takes a KEY SHARE lock
-- on the referenced row, and every create of an organization references the
-- same org and user rows: concurrent creates would pile multixacts on those
-- few hot rows. The store only ever writes ids it read from an API key, so
-- nothing is lost. The foreign keys between the hot tables stay: their
-- referenced rows are the create's own, or a worker.

-- Organizations, their users and the API keys that act for them.
CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	created_at BIGINT NOT NULL
);

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	created_at BIGINT NOT NULL
);

-- Only the SHA-256 of a key is stored; key_id is the stable id that scopes
-- idempotency keys.
CREATE TABLE api_keys (
	hash       BYTEA PRIMARY KEY,
	key_id     TEXT NOT NULL UNIQUE,
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL
);

CREATE TABLE workers (
	id                 TEXT PRIMARY KEY,
	org_id             TEXT NOT NULL,
	created_by_user_id TEXT,
	instructions       TEXT NOT NULL,
	created_at         BIGINT NOT NULL
);

-- status, completed_at, credits, duration_ms and turn_count are derived from
-- the task's turns and updated in the same statement as the turns, so that
-- listing and filtering never aggregate. position is the listing cursor;
-- it has gaps (a follow-up's upsert draws a value it does not use), which
-- cursors do not mind. No index covers status, so that the updates of the
-- derived columns can stay heap-only (HOT); the fill factor leaves them room.
CREATE TABLE tasks (
	id                 TEXT PRIMARY KEY,
	position           BIGINT GENERATED ALWAYS AS IDENTITY,
	org_id             TEXT NOT NULL,
	worker_id          TEXT NOT NULL REFERENCES workers (id),
	created_by_user_id TEXT,
	title              TEXT NOT NULL,
	triggered_by       TEXT NOT NULL,
	archived           BOOLEAN NOT NULL DEFAULT false,
	created_at         BIGINT NOT NULL,
	status             TEXT NOT NULL,
	completed_at       BIGINT,
	credits            BIGINT NOT NULL DEFAULT 0,
	duration_ms        BIGINT NOT NULL DEFAULT 0,
	turn_count         INTEGER NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

-- Listing: an organization's unarchived tasks, newest first, optionally of
-- one worker.
CREATE INDEX tasks_org ON tasks (org_id, position) WHERE NOT archived;
CREATE INDEX tasks_worker ON tasks (worker_id, position) WHERE NOT archived;

-- The turns table is also the work queue. position is the insertion order
-- that claims follow; lease_owner, lease_expires_at and attempts are the
-- claim, attempts being its fencing token. lease_expires_at is in no index,
-- so that heartbeats are heap-only updates.
CREATE TABLE turns (
	id                TEXT PRIMARY KEY,
	position          BIGINT GENERATED ALWAYS AS IDENTITY,
	task_id           TEXT NOT NULL REFERENCES tasks (id),
	org_id            TEXT NOT NULL,
	seq               INTEGER NOT NULL,
	role              TEXT NOT NULL,
	input             TEXT NOT NULL,
	budget            TEXT NOT NULL,
	status            TEXT NOT NULL
		CHECK (status IN ('pending', 'running', 'completed', 'error', 'aborted')),
	output_text       TEXT NOT NULL DEFAULT '',
	input_tokens      BIGINT NOT NULL DEFAULT 0,
	output_tokens     BIGINT NOT NULL DEFAULT 0,
	credits           BIGINT NOT NULL DEFAULT 0,
	duration_ms       BIGINT NOT NULL DEFAULT 0,
	structured_output BYTEA,
	error_code        TEXT NOT NULL DEFAULT '',
	error_message     TEXT NOT NULL DEFAULT '',
	incomplete_reason TEXT NOT NULL DEFAULT '',
	attempts          INTEGER NOT NULL DEFAULT 0,
	lease_owner       TEXT,
	lease_expires_at  BIGINT,
	accepted_at       BIGINT NOT NULL,
	completed_at      BIGINT,
	UNIQUE (task_id, seq)
) WITH (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.05);

-- The claim walks the pending turns in position order…
CREATE INDEX turns_pending ON turns (position) WHERE status = 'pending';
-- …and asks, for each, whether its task has an earlier live turn. The live
-- turns are also what the reaper and the queue counts read. Both indexes
-- stay as small as the queue, whatever the history kept.
CREATE INDEX turns_live ON turns (task_id, seq) WHERE status IN ('pending', 'running');

-- Scope is the API key (key_id) plus the client's key.
CREATE TABLE idempotency_keys (
	key_id       TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash BYTEA,
	turn_id      TEXT NOT NULL REFERENCES turns (id),
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (key_id, key)
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
