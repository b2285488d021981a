-- token_counts
-- grain:    one row per (category, model, client_id, dataset_index, day_index, field, value)
--           over the successful requests of the part
-- inputs:   part_requests
-- params:   origin_us, dataset_window_us
-- contract: servechar.summaries/2 token_counts. Exact value -> count tables of input_tokens
--           and output_tokens of successful requests (2xx or no status), per dataset window
--           and per day from the origin (both kept, so each period's table is a sum of rows
--           whatever the two lengths are). Token percentiles, means and the distances between
--           periods follow exactly from them.
with successes as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $dataset_window_us as dataset_index,
        (arrival_us - $origin_us) // 86400000000 as day_index,
        input_tokens,
        output_tokens
    from part_requests
    where is_success
),

counts as (
    select
        category,
        model,
        client_id,
        dataset_index,
        day_index,
        'input_tokens' as field,
        input_tokens as value,
        count(*) as n
    from successes
    group by category, model, client_id, dataset_index, day_index, input_tokens
    union all
    select
        category,
        model,
        client_id,
        dataset_index,
        day_index,
        'output_tokens' as field,
        output_tokens as value,
        count(*) as n
    from successes
    group by category, model, client_id, dataset_index, day_index, output_tokens
)

select * from counts
order by category, model, client_id, dataset_index, day_index, field, value
