-- stg_requests
-- grain:    one row per record of one input file (accepted or not)
-- inputs:   source_rows: the canonical columns as text, plus _source_row and
--           _is_valid_record (built per file format by pipeline/sources.py)
-- params:   file_index, unit_us, max_epoch_us
-- contract: staged rows; reject_reason is NULL for rows that pass every row-level check
with source as (
    select * from source_rows
),

parsed as (
    select
        $file_index::integer as file_index,
        _source_row::bigint as source_row,
        _is_valid_record as is_valid_record,
        nullif(trim("timestamp"), '') as timestamp_text,
        sc_epoch_us(nullif(trim("timestamp"), ''), $unit_us) as arrival_us,
        nullif(trim(model), '') as model,
        coalesce(nullif(trim(client_id), ''), 'unknown') as client_id,
        lower(nullif(trim(category), '')) as category_text,
        nullif(trim(request_id), '') as request_id,
        nullif(trim(session_id), '') as session_id,
        -- hash_ids (prefix-block ids, kept for prefix-aware replay): JSON as given
        nullif(trim(hash_ids), '') as hash_ids_text,
        input_tokens as input_tokens_text,
        output_tokens as output_tokens_text,
        reason_tokens as reason_tokens_text,
        text_tokens as text_tokens_text,
        status as status_text,
        ttft_ms as ttft_ms_text,
        e2e_ms as e2e_ms_text,
        sc_int(input_tokens) as input_tokens,
        sc_int(output_tokens) as output_tokens,
        sc_int(reason_tokens) as reason_tokens,
        sc_int(text_tokens) as text_tokens_given,
        sc_int(status) as status,
        sc_nonneg_double(ttft_ms) as ttft_ms,
        sc_nonneg_double(e2e_ms) as e2e_ms,
        image_count as image_count_text,
        image_tokens as image_tokens_text,
        sc_int(image_count) as image_count_n,
        sc_int(image_tokens) as image_tokens_n,
        sc_items(image_tokens) as image_items,
        audio_count as audio_count_text,
        audio_tokens as audio_tokens_text,
        sc_int(audio_count) as audio_count_n,
        sc_int(audio_tokens) as audio_tokens_n,
        sc_items(audio_tokens) as audio_items,
        video_count as video_count_text,
        video_tokens as video_tokens_text,
        sc_int(video_count) as video_count_n,
        sc_int(video_tokens) as video_tokens_n,
        sc_items(video_tokens) as video_items
    from source
),

modalities as (
    select
        *,
        sc_modality_tokens(image_tokens_n, image_items) as image_tokens,
        sc_modality_items(image_count_n, image_tokens_n, image_items) as image_count,
        sc_modality_tokens(audio_tokens_n, audio_items) as audio_tokens,
        sc_modality_items(audio_count_n, audio_tokens_n, audio_items) as audio_count,
        sc_modality_tokens(video_tokens_n, video_items) as video_tokens,
        sc_modality_items(video_count_n, video_tokens_n, video_items) as video_count,
        sc_modality_is_valid(
            image_count_text, image_count_n, image_tokens_text, image_tokens_n, image_items
        )
        and sc_modality_is_valid(
            audio_count_text, audio_count_n, audio_tokens_text, audio_tokens_n, audio_items
        )
        and sc_modality_is_valid(
            video_count_text, video_count_n, video_tokens_text, video_tokens_n, video_items
        ) as is_valid_modality
    from parsed
),

checked as (
    select
        *,
        image_tokens + audio_tokens + video_tokens as modality_tokens,
        case
            when not is_valid_record then 'invalid_json'
            when timestamp_text is null then 'missing_timestamp'
            when arrival_us is null then 'invalid_timestamp'
            when arrival_us < 0 or arrival_us > $max_epoch_us then 'timestamp_out_of_range'
            when model is null then 'missing_model'
            when input_tokens_text is null or output_tokens_text is null then 'missing_tokens'
            when input_tokens is null or output_tokens is null
                or (reason_tokens_text is not null and reason_tokens is null)
                or (text_tokens_text is not null and text_tokens_given is null)
                then 'non_integer_tokens'
            when input_tokens < 0 or output_tokens < 0
                or coalesce(reason_tokens, 0) < 0 or coalesce(text_tokens_given, 0) < 0
                then 'negative_tokens'
            when reason_tokens > output_tokens then 'reason_exceeds_output'
            when not is_valid_modality then 'invalid_modality'
            when image_tokens + audio_tokens + video_tokens > input_tokens
                then 'modality_exceeds_input'
            when category_text not in ('language', 'multimodal', 'reason') then 'invalid_category'
            when status_text is not null and (status is null or status not between 100 and 599)
                then 'invalid_status'
            when (ttft_ms_text is not null and ttft_ms is null)
                or (e2e_ms_text is not null and e2e_ms is null) then 'invalid_latency'
            -- hash_ids: a JSON list (Mooncake) or an object of lists (RAGPulse segments)
            when hash_ids_text is not null and coalesce(
                case when json_valid(hash_ids_text) then json_type(hash_ids_text) end, ''
            ) not in ('ARRAY', 'OBJECT') then 'invalid_hash_ids'
        end as reject_reason
    from modalities
),

final as (
    select
        file_index,
        source_row,
        reject_reason,
        case reject_reason
            when 'missing_timestamp' then 'timestamp is empty'
            when 'invalid_timestamp' then 'timestamp=' || timestamp_text
            when 'timestamp_out_of_range' then 'timestamp=' || timestamp_text
                || ' is before 1970 or too far ahead (check --time-unit)'
            when 'missing_tokens' then 'input_tokens=' || coalesce(input_tokens_text, '<empty>')
                || ' output_tokens=' || coalesce(output_tokens_text, '<empty>')
            when 'non_integer_tokens' then 'input_tokens=' || coalesce(input_tokens_text, '')
                || ' output_tokens=' || coalesce(output_tokens_text, '')
                || ' reason_tokens=' || coalesce(reason_tokens_text, '')
                || ' text_tokens=' || coalesce(text_tokens_text, '')
            when 'negative_tokens' then 'input_tokens=' || input_tokens_text
                || ' output_tokens=' || output_tokens_text
                || ' reason_tokens=' || coalesce(reason_tokens_text, '')
            when 'reason_exceeds_output' then 'reason_tokens=' || reason_tokens_text
                || ' > output_tokens=' || output_tokens_text
            when 'modality_exceeds_input' then 'modality tokens ' || modality_tokens::varchar
                || ' > input_tokens=' || input_tokens_text
            when 'invalid_category' then 'category=' || category_text
            when 'invalid_status' then 'status=' || status_text
            when 'invalid_latency' then 'ttft_ms=' || coalesce(ttft_ms_text, '')
                || ' e2e_ms=' || coalesce(e2e_ms_text, '')
            when 'invalid_hash_ids' then 'hash_ids=' || hash_ids_text
        end as reject_detail,
        arrival_us,
        model,
        client_id,
        category_text,
        request_id,
        session_id,
        hash_ids_text as hash_ids,
        input_tokens,
        output_tokens,
        reason_tokens,
        coalesce(text_tokens_given, input_tokens - modality_tokens) as text_tokens,
        image_count,
        image_tokens,
        image_items as image_item_tokens,
        audio_count,
        audio_tokens,
        audio_items as audio_item_tokens,
        video_count,
        video_tokens,
        video_items as video_item_tokens,
        status,
        ttft_ms,
        e2e_ms
    from checked
)

select * from final
