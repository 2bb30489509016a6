-- A node's recent tasks (GET /api/v1/nodes/{id}/tasks) read newest first by index, and the farm
-- history (GET /api/v1/farm/history) finds the tasks finished in its window without a scan.
CREATE INDEX tasks_node_started ON tasks(node_id, started_at);
CREATE INDEX tasks_finished ON tasks(finished_at);
