-- duplicate_candidates
-- grain:    one row per record that passed the checks and carries a request_id
-- inputs:   staged (stg_requests output: all files', or one file's on Spark)
-- params:   (none)
-- What ingest/duplicates ranks. Its result for an id depends only on the rows with that id,
-- so the candidates can be split by request_id (Spark: hash buckets) and ranked per part.
select file_index, source_row, request_id, arrival_us
from staged
where reject_reason is null and request_id is not null
