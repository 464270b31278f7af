-- A new, empty database whose text compares byte by byte (collation "C"); see
-- platform_common.postgres.create_database for why. Character classification (upper/lower,
-- regular-expression classes) stays the cluster's own: {ctype}, read by template_ctype.sql.
-- Placeholders are filled by psycopg.sql (Identifier / Literal), never by string formatting.
CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE {ctype};
