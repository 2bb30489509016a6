-- Farmhand schema v1. Times are milliseconds since the Unix epoch (UTC), NULL when unset.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    priority INTEGER NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    frames_total INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT NOT NULL DEFAULT '',
    -- Task counts by state, kept by the trigger below so reading a job never scans its tasks.
    n_queued INTEGER NOT NULL DEFAULT 0,
    n_running INTEGER NOT NULL DEFAULT 0,
    n_done INTEGER NOT NULL DEFAULT 0,
    n_failed INTEGER NOT NULL DEFAULT 0,
    n_canceled INTEGER NOT NULL DEFAULT 0,
    frames_done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_state ON jobs(state);
CREATE INDEX jobs_sched ON jobs(priority DESC, created_at ASC);

CREATE TABLE nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    caps TEXT NOT NULL,
    admin TEXT NOT NULL DEFAULT 'enabled',
    connected_at INTEGER,
    last_seen INTEGER
);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    frames TEXT NOT NULL,
    frame_count INTEGER NOT NULL,
    state TEXT NOT NULL,
    node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    orphaned INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    queued_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER,
    UNIQUE(job_id, idx)
);
CREATE INDEX tasks_state ON tasks(state, job_id);
-- Dispatch reads a job's queued tasks in order; job progress sums frames by state (index only).
CREATE INDEX tasks_job_state ON tasks(job_id, state, idx, frame_count);
CREATE INDEX tasks_node ON tasks(node_id, state);

-- Tasks are inserted queued (the job row starts with those counts); every later state change
-- moves one count, inside the same transaction, so a rollback undoes both.
CREATE TRIGGER tasks_count AFTER UPDATE OF state ON tasks WHEN old.state != new.state
BEGIN
    UPDATE jobs SET
        n_queued = n_queued + (new.state = 'queued') - (old.state = 'queued'),
        n_running = n_running + (new.state IN ('assigned', 'running'))
                              - (old.state IN ('assigned', 'running')),
        n_done = n_done + (new.state = 'done') - (old.state = 'done'),
        n_failed = n_failed + (new.state = 'failed') - (old.state = 'failed'),
        n_canceled = n_canceled + (new.state = 'canceled') - (old.state = 'canceled'),
        frames_done = frames_done + ((new.state = 'done') - (old.state = 'done')) * new.frame_count
    WHERE id = new.job_id;
END;

CREATE TABLE outputs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    frame INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE(job_id, name)
);
CREATE INDEX outputs_task ON outputs(task_id);

CREATE TABLE task_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX task_logs_task ON task_logs(task_id, id);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    chunk_size INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    received TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
