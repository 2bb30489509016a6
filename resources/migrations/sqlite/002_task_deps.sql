-- Tasks that wait for other tasks of their job (an encode after its frames): a queued task is
-- dispatched only once every task it waits for is done.
CREATE TABLE task_deps (
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    after_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, after_id)
) WITHOUT ROWID;
CREATE INDEX task_deps_after ON task_deps(after_id);
