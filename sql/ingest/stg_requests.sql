-- stg_requests
-- grain:    one row per record of one input file (accepted or not)
-- inputs:   source_rows: the canonical columns as text, plus _source_row, _raw_text and
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
        _raw_text as raw_text,
        nullif(trim("timestamp"), '') as timestamp_text,
        sc_epoch_us(nullif(trim("timestamp"), ''), $unit_us) as arrival_us,
        nullif(trim(model), '') as model,
        coalesce(nullif(trim(client_id), ''), 'unknown') as client_id,
        lower(nullif(trim(category), '')) as category_text,
        nullif(trim(request_id), '') as request_id,
        nullif(trim(session_id), '') as session_id,
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
        sc_modality(image_count, image_tokens) as image,
        sc_modality(audio_count, audio_tokens) as audio,
        sc_modality(video_count, video_tokens) as video
    from source
),

checked as (
    select
        *,
        image.tokens + audio.tokens + video.tokens as modality_tokens,
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
            when not (image.is_valid and audio.is_valid and video.is_valid) then 'invalid_modality'
            when image.tokens + audio.tokens + video.tokens > input_tokens
                then 'modality_exceeds_input'
            when category_text not in ('language', 'multimodal', 'reason') then 'invalid_category'
            when status_text is not null and (status is null or status not between 100 and 599)
                then 'invalid_status'
            when (ttft_ms_text is not null and ttft_ms is null)
                or (e2e_ms_text is not null and e2e_ms is null) then 'invalid_latency'
        end as reject_reason
    from parsed
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
        end as reject_detail,
        -- raw text is kept for rejects only (duplicates fetch theirs in a second, targeted scan)
        case when reject_reason is not null then raw_text end as raw_text,
        arrival_us,
        model,
        client_id,
        category_text,
        request_id,
        session_id,
        input_tokens,
        output_tokens,
        reason_tokens,
        coalesce(text_tokens_given, input_tokens - modality_tokens) as text_tokens,
        image.n_items as image_count,
        image.tokens as image_tokens,
        image.items as image_item_tokens,
        audio.n_items as audio_count,
        audio.tokens as audio_tokens,
        audio.items as audio_item_tokens,
        video.n_items as video_count,
        video.tokens as video_tokens,
        video.items as video_item_tokens,
        status,
        ttft_ms,
        e2e_ms
    from checked
)

select * from final
