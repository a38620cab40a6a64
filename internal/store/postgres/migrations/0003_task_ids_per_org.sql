-- A task id belongs to the organization that uses it: the same client-chosen
-- id in two organizations is two tasks. Tasks are keyed by (org_id, id), and
-- turns point at their task by both. Turn ids stay globally unique.
ALTER TABLE turns DROP CONSTRAINT turns_task_id_fkey;
ALTER TABLE turns DROP CONSTRAINT turns_task_id_seq_key;
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (org_id, id);
ALTER TABLE turns ADD CONSTRAINT turns_task_seq_key UNIQUE (org_id, task_id, seq);
ALTER TABLE turns ADD CONSTRAINT turns_task_fkey
	FOREIGN KEY (org_id, task_id) REFERENCES tasks (org_id, id);
DROP INDEX turns_live;
CREATE INDEX turns_live ON turns (org_id, task_id, seq) WHERE status IN ('pending', 'running');
