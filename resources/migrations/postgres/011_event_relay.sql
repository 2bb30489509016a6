-- Event batches too large for one NOTIFY between controllers (docs/CONTROLLERS.md). Unlogged:
-- a row lives a minute and needs no crash safety. Controllers made it at start before this
-- migration, hence IF NOT EXISTS.
CREATE UNLOGGED TABLE IF NOT EXISTS event_relay (
    id BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
