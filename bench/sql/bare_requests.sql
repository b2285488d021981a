-- bare_requests
-- grain:    one row per record of the CSV log at $path, read with typed columns
-- inputs:   the file at $path (a header naming at least the six columns typed below)
-- params:   path
-- The reference pass of the benchmark: DuckDB's own typed CSV reader with no row checks, no
-- rejects and no provenance, which is the least work any characterization of the log does.
select
    model,
    client_id,
    epoch_us(timestamp) as arrival_us,
    input_tokens,
    output_tokens,
    status is null or status between 200 and 299 as is_success
from read_csv(
    $path,
    header = true,
    types = {
        'timestamp': 'TIMESTAMP',
        'model': 'VARCHAR',
        'client_id': 'VARCHAR',
        'input_tokens': 'BIGINT',
        'output_tokens': 'BIGINT',
        'status': 'INTEGER'
    }
)
