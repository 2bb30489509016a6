-- Webhook deliveries waiting to be sent (or sent again after a failure): kept here so that a
-- restart loses none. A row is deleted once its receiver answered 2xx or its attempts ran out.
-- No foreign key to jobs: a completion may still be on its way when the job is deleted.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at);
