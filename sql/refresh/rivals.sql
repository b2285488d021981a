-- rivals
-- grain:    one row per accepted request, stored or incoming, that loses to another with the
--           same request_id
-- inputs:   incoming (a new dump's request table), stored (the store's request rows)
-- params:   (none)
-- contract: the rule of duplicates@1 (sql/ingest/duplicates.sql) across dumps: the earliest
--           arrival is kept, ties to the smallest file_index (store-wide file numbers: files
--           of earlier dumps first), then source_row. Only ids of the incoming dump are ranked.
with incoming_ids as (
    select distinct request_id from incoming where request_id is not null
),

candidates as (
    select request_id, arrival_us, file_index, source_row, 'stored' as side
    from stored
    semi join incoming_ids using (request_id)
    union all
    select request_id, arrival_us, file_index, source_row, 'incoming' as side
    from incoming
    where request_id is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by request_id order by arrival_us, file_index, source_row
        ) as occurrence
    from candidates
),

final as (
    select side, arrival_us, file_index, source_row, request_id
    from ranked
    where occurrence > 1
)

select * from final order by side, file_index, source_row
