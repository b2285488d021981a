-- requests
-- grain:    one row per accepted request
-- inputs:   resolved (resolved_requests)
-- params:   (none)
-- contract: requests@1 (arrival_us is epoch microseconds, UTC)
with final as (
    select
        arrival_us,
        category,
        model,
        client_id,
        request_id,
        session_id,
        input_tokens,
        output_tokens,
        reason_tokens,
        text_tokens,
        image_count,
        image_tokens,
        image_item_tokens,
        audio_count,
        audio_tokens,
        audio_item_tokens,
        video_count,
        video_tokens,
        video_item_tokens,
        status,
        is_success,
        ttft_ms,
        e2e_ms,
        file_index,
        source_row
    from resolved
    where reject_reason is null
)

select * from final
