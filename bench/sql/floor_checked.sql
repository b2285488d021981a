-- floor_checked
-- grain:    one row per record of the CSV log at $path, every field checked as ingest checks it
-- inputs:   the file at $path (bench/bench.py's log columns); the macros of sql/macros/parse.sql
-- params:   path
-- The least of ingest's row checks: the text read as text (DuckDB's typed reader accepts
-- '0x10' and '1_000' and rounds '12.5', so a request log's fields are checked as text), names
-- trimmed, the time and the integers through servechar's own strict parse macros. No reject
-- reasons, no provenance, no raw text kept: each of those only adds to the work.
select
    nullif(trim(model), '') as model,
    nullif(trim(client_id), '') as client_id,
    sc_epoch_us(nullif(trim("timestamp"), ''), 1000000) as arrival_us,
    nullif(trim(request_id), '') as request_id,
    sc_int(nullif(input_tokens, '')) as input_tokens,
    sc_int(nullif(output_tokens, '')) as output_tokens,
    sc_int(nullif(reason_tokens, '')) as reason_tokens,
    sc_int(nullif(image_count, '')) as image_count,
    sc_int(nullif(image_tokens, '')) as image_tokens,
    sc_int(nullif(status, '')) as status,
    sc_int(nullif(status, '')) is null or sc_int(nullif(status, '')) between 200 and 299
        as is_success
from read_csv($path, header = true, all_varchar = true)
