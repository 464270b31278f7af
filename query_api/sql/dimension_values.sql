-- Values of one filter dimension (region, plan, metric, category) the read models know.
SELECT value_id, value_name, count(*) OVER () AS total_items
FROM reporting.dimension_value
WHERE dimension = %(dimension)s
ORDER BY value_id
LIMIT %(limit)s OFFSET %(offset)s;
