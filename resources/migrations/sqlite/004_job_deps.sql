-- Jobs that wait for other jobs (`depends_on`): a job's tasks are dispatched only once every
-- job it waits for is completed. A dependency that fails or is canceled fails its dependents.
CREATE TABLE job_deps (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    after_job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, after_job)
) WITHOUT ROWID;
CREATE INDEX job_deps_after ON job_deps(after_job);
