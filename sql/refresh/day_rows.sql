-- day_rows
-- grain:    one row per request of one UTC day after a dump is absorbed
-- inputs:   stored_day (the day's stored rows), incoming, losers (rivals.sql)
-- params:   start_us, end_us
-- contract: requests@2, one day's file: the same order as ingest/request_day.sql.
with merged as (
    select * from stored_day
    union all by name
    select * from incoming where arrival_us >= $start_us and arrival_us < $end_us
),

final as (
    select m.*
    from merged as m
    anti join losers as l on m.file_index = l.file_index and m.source_row = l.source_row
)

select * from final
order by model, client_id, arrival_us, file_index, source_row
