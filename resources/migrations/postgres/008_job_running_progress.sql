-- The progress of a job's tasks on nodes (sum of progress × frame_count over its assigned and
-- running tasks), kept on the job row like its counts (by the store, in the transaction of
-- each task change): reading a job no longer sums its running tasks.
ALTER TABLE jobs ADD COLUMN running_progress DOUBLE PRECISION NOT NULL DEFAULT 0;
