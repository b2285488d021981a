-- no_requests
-- grain:    no rows: the request table of a run without accepted requests, typed as requests@2
-- inputs:   (none)
-- params:   (none)
select
    null::bigint as arrival_us,
    null::varchar as category,
    null::varchar as model,
    null::varchar as client_id,
    null::varchar as request_id,
    null::varchar as session_id,
    null::varchar as hash_ids,
    null::bigint as input_tokens,
    null::bigint as output_tokens,
    null::bigint as reason_tokens,
    null::bigint as text_tokens,
    null::bigint as image_count,
    null::bigint as image_tokens,
    null::bigint[] as image_item_tokens,
    null::bigint as audio_count,
    null::bigint as audio_tokens,
    null::bigint[] as audio_item_tokens,
    null::bigint as video_count,
    null::bigint as video_tokens,
    null::bigint[] as video_item_tokens,
    null::bigint as status,
    null::boolean as is_success,
    null::double as ttft_ms,
    null::double as e2e_ms,
    null::integer as file_index,
    null::bigint as source_row
limit 0
