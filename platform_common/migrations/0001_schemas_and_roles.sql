-- Layers: staging (batch landing tables), warehouse (star schema), platform (operational state:
-- idempotency keys, consumer offsets, run records). Group roles carry the privileges; login
-- roles are created by `ledgerline setup` and granted membership.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledgerline_write') THEN
        CREATE ROLE ledgerline_write NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledgerline_read') THEN
        CREATE ROLE ledgerline_read NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS warehouse;
CREATE SCHEMA IF NOT EXISTS platform;

GRANT USAGE ON SCHEMA staging, warehouse, platform TO ledgerline_write;
GRANT CREATE ON SCHEMA staging TO ledgerline_write;
GRANT USAGE ON SCHEMA warehouse TO ledgerline_read;

-- Objects created later by the admin role (migrations) get the same grants automatically.
ALTER DEFAULT PRIVILEGES IN SCHEMA staging, warehouse, platform
    GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO ledgerline_write;
ALTER DEFAULT PRIVILEGES IN SCHEMA staging, warehouse, platform
    GRANT USAGE, SELECT ON SEQUENCES TO ledgerline_write;
-- The reader (query API) sees the warehouse only; grants on platform tables are explicit.
ALTER DEFAULT PRIVILEGES IN SCHEMA warehouse
    GRANT SELECT ON TABLES TO ledgerline_read;

-- Smallest useful table of the foundation: which process last set the platform up, and when.
CREATE TABLE IF NOT EXISTS platform.setup_run (
    setup_run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    component text NOT NULL,
    ran_at timestamptz NOT NULL DEFAULT now()
);
