-- The job row's task counts and running progress are kept by the store (SqlStore, in the
-- transaction of each task change) on SQLite and PostgreSQL alike: no business logic in
-- triggers. The triggers of 001 and 008 go; the columns are counted once more from the tasks,
-- so a database upgraded in place starts exact.
DROP TRIGGER IF EXISTS tasks_count;
DROP TRIGGER IF EXISTS tasks_running_progress;
UPDATE jobs SET
    n_queued = (SELECT COUNT(*) FROM tasks t WHERE t.job_id = jobs.id AND t.state = 'queued'),
    n_running = (SELECT COUNT(*) FROM tasks t WHERE t.job_id = jobs.id AND t.state IN ('assigned', 'running')),
    n_done = (SELECT COUNT(*) FROM tasks t WHERE t.job_id = jobs.id AND t.state = 'done'),
    n_failed = (SELECT COUNT(*) FROM tasks t WHERE t.job_id = jobs.id AND t.state = 'failed'),
    n_canceled = (SELECT COUNT(*) FROM tasks t WHERE t.job_id = jobs.id AND t.state = 'canceled'),
    frames_done = (SELECT COALESCE(SUM(t.frame_count), 0) FROM tasks t WHERE t.job_id = jobs.id AND t.state = 'done'),
    running_progress = (SELECT COALESCE(SUM(t.progress * t.frame_count), 0) FROM tasks t WHERE t.job_id = jobs.id AND t.state IN ('assigned', 'running'));
