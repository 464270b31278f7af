-- Remove a database made by create_database, ending its sessions first; nothing if it is gone.
-- {database} is filled by psycopg.sql.Identifier, never by string formatting.
DROP DATABASE IF EXISTS {database} WITH (FORCE);
