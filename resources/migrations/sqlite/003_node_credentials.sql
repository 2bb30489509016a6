-- Each node proves who it is with its own secret (issued in `welcome` at its first join). Only
-- the secret's SHA-256 (hex) is kept; a row without one (registered before this version) is
-- claimed by the next node that joins under its name with the join token.
ALTER TABLE nodes ADD COLUMN secret_hash TEXT;
CREATE UNIQUE INDEX nodes_secret ON nodes(secret_hash) WHERE secret_hash IS NOT NULL;
