-- resolved_requests
-- grain:    one row per staged record: the final verdict (accepted or a reject reason)
--           and, for accepted rows, the category of its model
-- inputs:   staged (all files' stg_requests output), category_overrides(model, category)
-- params:   (none)
-- Duplicates keep the first occurrence by (file_index, source_row); categories follow the
-- issue: explicit override > the row's category column > reason / multimodal / language
-- decided from what the model's accepted rows carry.
with source as (
    select * from staged
),

deduplicated as (
    select
        * exclude (reject_reason, reject_detail),
        case
            when reject_reason is not null then reject_reason
            when request_id is not null
                and row_number() over (
                    partition by request_id order by file_index, source_row
                ) > 1
                then 'duplicate_request_id'
        end as reject_reason,
        case
            when reject_reason is not null then reject_detail
            when request_id is not null then 'request_id=' || request_id
        end as reject_detail
    from source
),

model_traits as (
    select
        model,
        bool_or(coalesce(reason_tokens, 0) > 0) as has_reasoning,
        bool_or(
            image_count + audio_count + video_count > 0
            or image_tokens + audio_tokens + video_tokens > 0
        ) as has_media
    from deduplicated
    where reject_reason is null
    group by model
),

final as (
    select
        d.*,
        case
            when d.reject_reason is null then coalesce(
                o.category,
                d.category_text,
                case
                    when t.has_reasoning then 'reason'
                    when t.has_media then 'multimodal'
                    else 'language'
                end
            )
        end as category,
        d.status is null or d.status between 200 and 299 as is_success
    from deduplicated as d
    left join model_traits as t on d.model = t.model
    left join category_overrides as o on d.model = o.model
)

select * from final
