-- stg_requests
-- grain:    one row per record of one input file (accepted or not)
-- inputs:   source_rows: the canonical columns as text, plus _source_row, _is_valid_record
--           and _type_error (built per file format by pipeline/sources.py)
-- params:   file_index, unit_us, max_epoch_us, local_times, ambiguous, max_tokens, missing_client_id
-- contract: staged rows; reject_reason is NULL for rows that pass every row-level check.
-- Empty text means missing in every format (CSV, JSON Lines, Parquet strings); names and
-- timestamps are trimmed (numbers need no trim: the parse macros allow surrounding blanks).
-- `local_times`: naive ISO text is a wall-clock time of --tz (not UTC), so a time in a DST
-- gap is rejected and one in a DST overlap is rejected or resolved by `ambiguous`
-- ('reject', 'earliest', 'latest').
with source as (
    select
        _source_row,
        _is_valid_record,
        _type_error,
        nullif(trim("timestamp"), '') as "timestamp",
        nullif(trim(model), '') as model,
        nullif(trim(client_id), '') as client_id,
        nullif(trim(category), '') as category,
        nullif(trim(request_id), '') as request_id,
        nullif(trim(session_id), '') as session_id,
        nullif(trim(hash_ids), '') as hash_ids,
        nullif(input_tokens, '') as input_tokens,
        nullif(output_tokens, '') as output_tokens,
        nullif(reason_tokens, '') as reason_tokens,
        nullif(text_tokens, '') as text_tokens,
        nullif(status, '') as status,
        nullif(ttft_ms, '') as ttft_ms,
        nullif(e2e_ms, '') as e2e_ms,
        nullif(image_count, '') as image_count,
        nullif(image_tokens, '') as image_tokens,
        nullif(audio_count, '') as audio_count,
        nullif(audio_tokens, '') as audio_tokens,
        nullif(video_count, '') as video_count,
        nullif(video_tokens, '') as video_tokens
    from source_rows
),

parsed as (
    select
        $file_index::integer as file_index,
        _source_row::bigint as source_row,
        _is_valid_record as is_valid_record,
        _type_error as type_error,
        "timestamp" as timestamp_text,
        case
            when not $local_times then null
            when sc_is_iso_time("timestamp") and sc_is_naive_time("timestamp")
                then sc_local_instants(try_cast("timestamp" as timestamp))
        end as local_instants,
        sc_epoch_us("timestamp", $unit_us) as given_arrival_us,
        model,
        coalesce(client_id, $missing_client_id) as client_id,
        lower(category) as category_text,
        request_id,
        session_id,
        -- hash_ids (prefix-block ids, kept for prefix-aware replay): JSON as given
        hash_ids as hash_ids_text,
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

timed as (
    select
        *,
        case
            when local_instants is null then given_arrival_us
            when len(local_instants) = 1 then epoch_us(local_instants[1])
            when len(local_instants) = 2 and $ambiguous = 'earliest'
                then epoch_us(local_instants[1])
            when len(local_instants) = 2 and $ambiguous = 'latest'
                then epoch_us(local_instants[2])
        end as arrival_us,
        coalesce(len(local_instants) = 2 and $ambiguous <> 'reject', false)
            as is_resolved_ambiguous
    from parsed
),

dated as (
    select
        *,
        -- the unit under which an out-of-range number would be a 1973-2200 epoch time
        -- (worked out only for the rows that need it: CASE evaluates lazily)
        case
            when arrival_us between 0 and $max_epoch_us or local_instants is not null then null
            when sc_number_seconds(timestamp_text, $unit_us) / 1e3
                between 1e8 and $max_epoch_us / 1e6 then 'ms'
            when sc_number_seconds(timestamp_text, $unit_us) / 1e6
                between 1e8 and $max_epoch_us / 1e6 then 'us'
            when sc_number_seconds(timestamp_text, $unit_us) / 1e9
                between 1e8 and $max_epoch_us / 1e6 then 'ns'
        end as likely_time_unit
    from timed
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
        ) as is_valid_modality,
        -- largest token count of the row, items summed exactly (hugeint)
        greatest(
            input_tokens, output_tokens, reason_tokens, text_tokens_given,
            image_tokens_n, audio_tokens_n, video_tokens_n,
            image_count_n, audio_count_n, video_count_n,
            list_sum(image_items::hugeint[]), list_sum(audio_items::hugeint[]),
            list_sum(video_items::hugeint[]),
            list_sum(image_items::hugeint[]) + list_sum(audio_items::hugeint[])
            + list_sum(video_items::hugeint[])
        )::hugeint as max_token_count
    from dated
),

checked as (
    select
        *,
        image_tokens::hugeint + audio_tokens + video_tokens as modality_tokens,
        case
            when not is_valid_record then 'invalid_json'
            when type_error is not null then 'wrong_type'
            when timestamp_text is null then 'missing_timestamp'
            when local_instants is not null and len(local_instants) = 0
                then 'nonexistent_local_time'
            when local_instants is not null and len(local_instants) = 2 and arrival_us is null
                then 'ambiguous_local_time'
            when arrival_us is null and likely_time_unit is null then 'invalid_timestamp'
            when arrival_us is null or arrival_us < 0 or arrival_us > $max_epoch_us
                then 'timestamp_out_of_range'
            when model is null then 'missing_model'
            when input_tokens_text is null or output_tokens_text is null then 'missing_tokens'
            when input_tokens is null or output_tokens is null
                or (reason_tokens_text is not null and reason_tokens is null)
                or (text_tokens_text is not null and text_tokens_given is null)
                then case
                    -- an integer too large for a 64-bit count is an overflow, not a non-integer
                    when list_bool_or([
                        sc_is_number(t) and abs(try_cast(t as double)) >= 9.0e18
                        for t in [
                            input_tokens_text, output_tokens_text, reason_tokens_text,
                            text_tokens_text
                        ]
                    ]) then 'token_overflow'
                    else 'non_integer_tokens'
                end
            when input_tokens < 0 or output_tokens < 0
                or coalesce(reason_tokens, 0) < 0 or coalesce(text_tokens_given, 0) < 0
                then 'negative_tokens'
            when max_token_count > $max_tokens then 'token_overflow'
            when reason_tokens > output_tokens then 'reason_exceeds_output'
            when not is_valid_modality then 'invalid_modality'
            when modality_tokens > input_tokens then 'modality_exceeds_input'
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
            when 'invalid_json' then 'the line is not a JSON object'
            when 'wrong_type' then type_error
            when 'missing_timestamp' then 'timestamp is empty'
            when 'invalid_timestamp' then 'timestamp=' || timestamp_text
                || ' is neither a plain number nor ISO-8601 text (offsets up to +/-14:00)'
            when 'nonexistent_local_time' then 'timestamp=' || timestamp_text
                || ' does not exist in the --tz time zone (a DST gap)'
            when 'ambiguous_local_time' then 'timestamp=' || timestamp_text
                || ' occurs twice in the --tz time zone (a DST overlap; see --ambiguous)'
            when 'timestamp_out_of_range' then 'timestamp=' || timestamp_text
                || coalesce(
                    ' is after 2200 in this unit; it looks like epoch ' || likely_time_unit
                    || ': use --time-unit ' || likely_time_unit,
                    ' is before 1970 or too far ahead (check --time-unit)'
                )
            when 'missing_model' then 'model is empty (or use --model NAME)'
            when 'missing_tokens' then 'input_tokens=' || coalesce(input_tokens_text, '<empty>')
                || ' output_tokens=' || coalesce(output_tokens_text, '<empty>')
            when 'non_integer_tokens' then 'input_tokens=' || coalesce(input_tokens_text, '')
                || ' output_tokens=' || coalesce(output_tokens_text, '')
                || ' reason_tokens=' || coalesce(reason_tokens_text, '')
                || ' text_tokens=' || coalesce(text_tokens_text, '')
            when 'negative_tokens' then 'input_tokens=' || input_tokens_text
                || ' output_tokens=' || output_tokens_text
                || ' reason_tokens=' || coalesce(reason_tokens_text, '')
            when 'token_overflow' then 'a token count above the limit ' || $max_tokens::varchar
                || ' (input_tokens=' || left(input_tokens_text, 40)
                || ' output_tokens=' || left(output_tokens_text, 40)
                || coalesce(' reason_tokens=' || left(reason_tokens_text, 40), '')
                || coalesce(' text_tokens=' || left(text_tokens_text, 40), '')
                || coalesce(' image_count=' || left(image_count_text, 60), '')
                || coalesce(' image_tokens=' || left(image_tokens_text, 60), '')
                || coalesce(' audio_count=' || left(audio_count_text, 60), '')
                || coalesce(' audio_tokens=' || left(audio_tokens_text, 60), '')
                || coalesce(' video_count=' || left(video_count_text, 60), '')
                || coalesce(' video_tokens=' || left(video_tokens_text, 60), '')
                || ')'
            when 'reason_exceeds_output' then 'reason_tokens=' || reason_tokens_text
                || ' > output_tokens=' || output_tokens_text
            when 'invalid_modality' then 'image_count=' || coalesce(image_count_text, '')
                || ' image_tokens=' || coalesce(image_tokens_text, '')
                || ' audio_count=' || coalesce(audio_count_text, '')
                || ' audio_tokens=' || coalesce(audio_tokens_text, '')
                || ' video_count=' || coalesce(video_count_text, '')
                || ' video_tokens=' || coalesce(video_tokens_text, '')
            when 'modality_exceeds_input' then 'modality tokens ' || modality_tokens::varchar
                || ' > input_tokens=' || input_tokens_text
            when 'invalid_category' then 'category=' || category_text
            when 'invalid_status' then 'status=' || status_text
            when 'invalid_latency' then 'ttft_ms=' || coalesce(ttft_ms_text, '')
                || ' e2e_ms=' || coalesce(e2e_ms_text, '')
            when 'invalid_hash_ids' then 'hash_ids=' || hash_ids_text
        end as reject_detail,
        case when reject_reason = 'timestamp_out_of_range' then likely_time_unit end
            as likely_time_unit,
        is_resolved_ambiguous and reject_reason is null as is_resolved_ambiguous,
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
        case when reject_reason is null
            then coalesce(text_tokens_given, (input_tokens - modality_tokens)::bigint)
        end as text_tokens,
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
