-- length_values
-- grain:    one row per (category, model, client_id, dataset_index, field, value) in the part
-- inputs:   part_requests
-- params:   origin_us, dataset_window_us, ratio_points
-- contract: servechar.summaries/2. Exact value -> count tables of every length field of the
--           successful requests (2xx or no status), per client and dataset window: the counts
--           the distributions artefact is made of. reason_ratio values are the indexes k of
--           the grid k/(ratio_points-1); per-item modality tokens count items, not requests.
with source as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $dataset_window_us as dataset_index,
        case when category <> 'multimodal' then input_tokens end as input_tokens,
        output_tokens,
        case
            when category = 'reason' then coalesce(
                round(
                    coalesce(reason_tokens, 0) / nullif(output_tokens, 0) * ($ratio_points - 1)
                )::bigint,
                0
            )
        end as reason_ratio,
        case when category = 'multimodal' then text_tokens end as text_tokens,
        case when category = 'multimodal' then image_count end as image_count,
        case when category = 'multimodal' then audio_count end as audio_count,
        case when category = 'multimodal' then video_count end as video_count
    from part_requests
    where is_success
),

-- one aggregate per field over only the rows of the categories that use it
scalar_counts as (
    select category, model, client_id, dataset_index, 'input_tokens' as field,
        input_tokens as value, count(*) as n
    from source where input_tokens is not null
    group by all
    union all
    select category, model, client_id, dataset_index, 'output_tokens' as field,
        output_tokens as value, count(*) as n
    from source
    group by all
    union all
    select category, model, client_id, dataset_index, 'reason_ratio' as field,
        reason_ratio as value, count(*) as n
    from source where reason_ratio is not null
    group by all
    union all
    select category, model, client_id, dataset_index, 'text_tokens' as field,
        text_tokens as value, count(*) as n
    from source where text_tokens is not null
    group by all
    union all
    select category, model, client_id, dataset_index, 'image_count' as field,
        image_count as value, count(*) as n
    from source where image_count is not null
    group by all
    union all
    select category, model, client_id, dataset_index, 'audio_count' as field,
        audio_count as value, count(*) as n
    from source where audio_count is not null
    group by all
    union all
    select category, model, client_id, dataset_index, 'video_count' as field,
        video_count as value, count(*) as n
    from source where video_count is not null
    group by all
),

media as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $dataset_window_us as dataset_index,
        coalesce(
            image_item_tokens,
            list_resize([]::bigint [], image_count, round(image_tokens / nullif(image_count, 0))::bigint)
        ) as image_items,
        coalesce(
            audio_item_tokens,
            list_resize([]::bigint [], audio_count, round(audio_tokens / nullif(audio_count, 0))::bigint)
        ) as audio_items,
        coalesce(
            video_item_tokens,
            list_resize([]::bigint [], video_count, round(video_tokens / nullif(video_count, 0))::bigint)
        ) as video_items
    from part_requests
    where is_success and category = 'multimodal' and image_count + audio_count + video_count > 0
),

item_values as (
    select category, model, client_id, dataset_index, 'image_tokens' as field,
        unnest(image_items) as value
    from media
    union all
    select category, model, client_id, dataset_index, 'audio_tokens' as field,
        unnest(audio_items) as value
    from media
    union all
    select category, model, client_id, dataset_index, 'video_tokens' as field,
        unnest(video_items) as value
    from media
),

item_counts as (
    select category, model, client_id, dataset_index, field, value, count(*) as n
    from item_values
    group by all
),

final as (
    select * from scalar_counts
    union all
    select * from item_counts
)

select * from final
order by category, model, client_id, dataset_index, field, value
