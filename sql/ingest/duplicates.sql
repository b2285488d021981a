-- duplicates
-- grain:    one row per accepted-so-far record whose request_id was seen before
-- inputs:   duplicate_candidates (ingest/duplicate_candidates: every row of each id it holds)
-- params:   (none)
-- contract: duplicates@1. The earliest arrival is kept (ties: the smallest file_index, files
--           being numbered in path order, then source_row), so the choice does not depend on
--           the order of the input files; only ids that occur more than once are ranked, so
--           logs without duplicates pay one group-by.
with repeated as (
    select request_id from duplicate_candidates group by request_id having count(*) > 1
),

ranked as (
    select
        c.file_index,
        c.source_row,
        c.request_id,
        row_number() over (
            partition by c.request_id order by c.arrival_us, c.file_index, c.source_row
        ) as occurrence
    from duplicate_candidates as c
    semi join repeated as r on c.request_id = r.request_id
),

final as (
    select file_index, source_row, request_id
    from ranked
    where occurrence > 1
)

select * from final order by file_index, source_row
