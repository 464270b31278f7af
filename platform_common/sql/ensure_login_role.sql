-- Create or refresh a login role and make it a member of its group role.
-- Placeholders are filled by psycopg.sql (Identifier / Literal), never by string formatting.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {user_literal}) THEN
        CREATE ROLE {user} LOGIN PASSWORD {password};
    ELSE
        ALTER ROLE {user} LOGIN PASSWORD {password};
    END IF;
END
$$;
GRANT {group} TO {user};
