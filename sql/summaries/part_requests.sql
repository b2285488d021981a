-- part_requests
-- grain:    one row per accepted request arriving in [start_us, end_us): one part's requests
-- inputs:   requests
-- params:   start_us, end_us
-- The one read of a part; every sql/summaries/part/<topic>.sql reads its result. It keeps
-- the columns of `requests` but those no summary topic reads: hash_ids (prefix-block hash
-- lists, ~150 bytes a request in Mooncake-style logs), file_index and source_row, so a part
-- held in memory does not carry them. (A selection by name, not a column list: `inspect`
-- summarises its staged sample, whose columns are a superset of what its topics read.)
select columns(lambda c: c not in ('hash_ids', 'file_index', 'source_row'))
from requests
where arrival_us >= $start_us and arrival_us < $end_us
