-- model_categories
-- grain:    one row per (model, explicit category or NULL) among rows that passed the checks
-- inputs:   staged (all files' stg_requests output), category_overrides(model, category)
-- params:   (none)
-- contract: model_categories@1. The category of a request is: the --category override of its
--           model, else its own category column, else decided per model: reason if any row
--           carries reasoning tokens, multimodal if any carries image/audio/video items,
--           else language.
with accepted as (
    select * from staged where reject_reason is null
),

traits as (
    select
        model,
        bool_or(coalesce(reason_tokens, 0) > 0) as has_reasoning,
        bool_or(
            image_count + audio_count + video_count > 0
            or image_tokens + audio_tokens + video_tokens > 0
        ) as has_media
    from accepted
    group by model
),

row_categories as (
    select distinct model, category_text from accepted
),

final as (
    select
        r.model,
        r.category_text,
        coalesce(
            o.category,
            r.category_text,
            case
                when t.has_reasoning then 'reason'
                when t.has_media then 'multimodal'
                else 'language'
            end
        ) as category
    from row_categories as r
    inner join traits as t on r.model = t.model
    left join category_overrides as o on r.model = o.model
)

select * from final order by model, category_text nulls first
