-- A new, empty database whose text compares byte by byte (collation "C", from libc even where
-- the cluster's default provider is ICU); see platform_common.postgres.create_database for why.
-- Character classification (upper/lower, regular-expression classes) stays the cluster's own:
-- {ctype}, read by template_ctype.sql. LOCALE_PROVIDER needs PostgreSQL 15, the oldest supported.
-- Placeholders are filled by psycopg.sql (Identifier / Literal), never by string formatting.
CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER 'libc' LC_COLLATE 'C' LC_CTYPE {ctype};
