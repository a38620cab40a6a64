-- Organizations, their users and the API keys that act for them.
CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	created_at INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 of a key is stored; key_id is the stable id that scopes
-- idempotency keys.
CREATE TABLE api_keys (
	hash       BLOB PRIMARY KEY,
	key_id     TEXT NOT NULL UNIQUE,
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE workers (
	id                 TEXT PRIMARY KEY,
	org_id             TEXT NOT NULL REFERENCES orgs (id),
	created_by_user_id TEXT REFERENCES users (id),
	instructions       TEXT NOT NULL,
	created_at         INTEGER NOT NULL
) STRICT;

-- status, completed_at, credits, duration_ms and turn_count are derived from
-- the task's turns and updated in the same transaction as the turns, so that
-- listing and filtering never aggregate. position is the listing cursor.
CREATE TABLE tasks (
	position           INTEGER PRIMARY KEY AUTOINCREMENT,
	id                 TEXT NOT NULL UNIQUE,
	org_id             TEXT NOT NULL REFERENCES orgs (id),
	worker_id          TEXT NOT NULL REFERENCES workers (id),
	created_by_user_id TEXT REFERENCES users (id),
	title              TEXT NOT NULL,
	triggered_by       TEXT NOT NULL,
	archived           INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER NOT NULL,
	status             TEXT NOT NULL,
	completed_at       INTEGER,
	credits            INTEGER NOT NULL DEFAULT 0,
	duration_ms        INTEGER NOT NULL DEFAULT 0,
	turn_count         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX tasks_org ON tasks (org_id, archived, position);
CREATE INDEX tasks_worker ON tasks (worker_id, archived, position);

-- The turns table is also the work queue. position is the insertion order
-- that claims follow; lease_owner, lease_expires_at and attempts are the
-- claim, attempts being its fencing token.
CREATE TABLE turns (
	position          INTEGER PRIMARY KEY,
	id                TEXT NOT NULL UNIQUE,
	task_id           TEXT NOT NULL REFERENCES tasks (id),
	org_id            TEXT NOT NULL REFERENCES orgs (id),
	seq               INTEGER NOT NULL,
	role              TEXT NOT NULL,
	input             TEXT NOT NULL,
	budget            TEXT NOT NULL,
	status            TEXT NOT NULL
		CHECK (status IN ('pending', 'running', 'completed', 'error', 'aborted')),
	output_text       TEXT NOT NULL DEFAULT '',
	input_tokens      INTEGER NOT NULL DEFAULT 0,
	output_tokens     INTEGER NOT NULL DEFAULT 0,
	credits           INTEGER NOT NULL DEFAULT 0,
	duration_ms       INTEGER NOT NULL DEFAULT 0,
	structured_output BLOB,
	error_code        TEXT NOT NULL DEFAULT '',
	error_message     TEXT NOT NULL DEFAULT '',
	incomplete_reason TEXT NOT NULL DEFAULT '',
	attempts          INTEGER NOT NULL DEFAULT 0,
	lease_owner       TEXT,
	lease_expires_at  INTEGER,
	accepted_at       INTEGER NOT NULL,
	completed_at      INTEGER,
	UNIQUE (task_id, seq)
) STRICT;

-- Serves the claim (pending turns in position order), the reaper (running
-- turns) and the queue counts.
CREATE INDEX turns_status ON turns (status);

-- Scope is the API key (key_id) plus the client's key.
CREATE TABLE idempotency_keys (
	key_id       TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash BLOB,
	turn_id      TEXT NOT NULL REFERENCES turns (id),
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (key_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
