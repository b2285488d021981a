-- row_counts
-- grain:    one row per (input file, verdict): accepted rows, or rejected rows of one reason
-- inputs:   resolved (resolved_requests), structural (structural_rejects)
-- params:   (none)
with verdicts as (
    select file_index, coalesce(reject_reason, 'accepted') as verdict from resolved
    union all
    select file_index, reject_reason as verdict from structural
),

final as (
    select file_index, verdict, count(*) as n_rows
    from verdicts
    group by file_index, verdict
    order by file_index, verdict
)

select * from final
