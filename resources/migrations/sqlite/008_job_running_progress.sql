-- The progress of a job's tasks on nodes (sum of progress × frame_count over its assigned and
-- running tasks), kept on the job row like its counts: reading a job no longer sums its running
-- tasks (a thousand of them on a large farm) at every state change.
ALTER TABLE jobs ADD COLUMN running_progress REAL NOT NULL DEFAULT 0;
UPDATE jobs SET running_progress = (SELECT COALESCE(SUM(t.progress * t.frame_count), 0) FROM tasks t WHERE t.job_id = jobs.id AND t.state IN ('assigned', 'running'));
CREATE TRIGGER tasks_running_progress AFTER UPDATE OF state, progress ON tasks
WHEN (old.state IN ('assigned', 'running') AND old.progress != 0)
  OR (new.state IN ('assigned', 'running') AND new.progress != 0)
BEGIN
    UPDATE jobs SET running_progress = running_progress
        - (CASE WHEN old.state IN ('assigned', 'running') THEN old.progress * old.frame_count ELSE 0 END)
        + (CASE WHEN new.state IN ('assigned', 'running') THEN new.progress * new.frame_count ELSE 0 END)
    WHERE id = new.job_id;
END;
