-- row_counts
-- grain:    one row per (input file, verdict): accepted rows, or rejected rows of one reason
-- inputs:   staged_counts (ingest/staged_counts, of every file), duplicates, structural
--           (structural_rejects)
-- params:   (none)
with verdicts as (
    select file_index, verdict, n_rows as weight
    from staged_counts
    union all
    -- a duplicate passed its row checks, so it was counted as accepted above: move it
    select file_index, 'accepted' as verdict, -1 as weight from duplicates
    union all
    select file_index, 'duplicate_request_id' as verdict, 1 as weight from duplicates
    union all
    select file_index, reject_reason as verdict, 1 as weight from structural
),

final as (
    select file_index, verdict, sum(weight)::bigint as n_rows
    from verdicts
    group by file_index, verdict
    having sum(weight) <> 0
    order by file_index, verdict
)

select * from final
