-- model_categories
-- grain:    one row per (model, explicit category or NULL) among rows that passed the checks
-- inputs:   model_traits (one or several files' ingest/model_traits rows),
--           category_overrides(model, category)
-- params:   (none)
-- contract: model_categories@1. The category of a request is: the --category override of its
--           model, else its own category column, else decided per model: reason if any row
--           carries reasoning tokens, multimodal if any carries image/audio/video items,
--           else language.
with traits as (
    select
        model,
        bool_or(has_reasoning) as has_reasoning,
        bool_or(has_media) as has_media
    from model_traits
    group by model
),

row_categories as (
    select distinct model, category_text from model_traits
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
