-- A task id belongs to the organization that uses it: the same client-chosen
-- id in two organizations is two tasks. Tasks are unique by (org_id, id),
-- and turns point at their task by both; turn ids stay globally unique.
-- SQLite changes a table's keys by rebuilding it: new tables that point at
-- each other, the rows copied, the old tables dropped children first (so no
-- drop deletes a row another table points at) and the new ones renamed,
-- which renames the references to them too.

CREATE TABLE tasks_new (
	position           INTEGER PRIMARY KEY AUTOINCREMENT,
	id                 TEXT NOT NULL,
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
	turn_count         INTEGER NOT NULL DEFAULT 0,
	UNIQUE (org_id, id)
) STRICT;
INSERT INTO tasks_new (position, id, org_id, worker_id, created_by_user_id, title, triggered_by,
	archived, created_at, status, completed_at, credits, duration_ms, turn_count)
SELECT position, id, org_id, worker_id, created_by_user_id, title, triggered_by,
	archived, created_at, status, completed_at, credits, duration_ms, turn_count
FROM tasks;

CREATE TABLE turns_new (
	position          INTEGER PRIMARY KEY,
	id                TEXT NOT NULL UNIQUE,
	task_id           TEXT NOT NULL,
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
	UNIQUE (org_id, task_id, seq),
	FOREIGN KEY (org_id, task_id) REFERENCES tasks_new (org_id, id)
) STRICT;
INSERT INTO turns_new SELECT position, id, task_id, org_id, seq, role, input, budget, status,
	output_text, input_tokens, output_tokens, credits, duration_ms, structured_output, error_code,
	error_message, incomplete_reason, attempts, lease_owner, lease_expires_at, accepted_at,
	completed_at
FROM turns;

CREATE TABLE idempotency_keys_new (
	key_id       TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash BLOB,
	turn_id      TEXT NOT NULL REFERENCES turns_new (id),
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (key_id, key)
) STRICT, WITHOUT ROWID;
INSERT INTO idempotency_keys_new SELECT key_id, key, request_hash, turn_id, created_at
FROM idempotency_keys;

DROP TABLE idempotency_keys;
DROP TABLE turns;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
ALTER TABLE turns_new RENAME TO turns;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;

CREATE INDEX tasks_org ON tasks (org_id, archived, position);
CREATE INDEX tasks_worker ON tasks (worker_id, archived, position);
CREATE INDEX turns_status ON turns (status);
CREATE INDEX turns_pending_org ON turns (org_id, position) WHERE status = 'pending';
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
