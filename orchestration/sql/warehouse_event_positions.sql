-- Which clean-topic message each warehouse event row came from (identifier composed by caller).
SELECT event_id, kafka_partition, kafka_offset FROM {table} WHERE kafka_topic = %(topic)s;
