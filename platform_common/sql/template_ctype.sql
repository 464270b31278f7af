-- The cluster's character classification for UTF-8 databases (none when template1 is not UTF-8).
SELECT datctype FROM pg_database WHERE datname = 'template1' AND encoding = pg_char_to_encoding('UTF8');
