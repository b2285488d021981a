-- distributions
-- grain:    one row per (category, model, client_id, dataset window, field, value), plus
--           the model's own rows over the whole log with client_id and dataset_index NULL
-- inputs:   keyed_requests, clients
-- params:   dataset_window_us, ratio_points
-- contract: distributions@2 (BREAKING: one row per value, not one literal per field). n
--           counts the requests (items, for per-item modality tokens) with that value; failed
--           requests (non-2xx) are left out. reason_ratio values are the indexes k of a dense
--           grid k/(ratio_points-1), zeros included. `entry` is the `value: probability` text
--           of ServeGen's dict literal, made only of numbers. Rows are sorted by (category,
--           model, client_id, dataset_index, field, value): export joins the entries of one
--           client at a time. Hash aggregates, joins and a sort (no ordered aggregate) keep
--           every step able to spill to disk.
with source as (
    select
        client_key,
        offset_us // $dataset_window_us as dataset_index,
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
    from keyed_requests
    where is_success
),

-- one aggregate per field over only the rows of the categories that use it
scalar_counts as (
    select client_key, dataset_index, 'input_tokens' as field, input_tokens as value, count(*) as n
    from source where input_tokens is not null
    group by client_key, dataset_index, input_tokens
    union all
    select client_key, dataset_index, 'output_tokens' as field, output_tokens as value, count(*) as n
    from source
    group by client_key, dataset_index, output_tokens
    union all
    select client_key, dataset_index, 'reason_ratio' as field, reason_ratio as value, count(*) as n
    from source where reason_ratio is not null
    group by client_key, dataset_index, reason_ratio
    union all
    select client_key, dataset_index, 'text_tokens' as field, text_tokens as value, count(*) as n
    from source where text_tokens is not null
    group by client_key, dataset_index, text_tokens
    union all
    select client_key, dataset_index, 'image_count' as field, image_count as value, count(*) as n
    from source where image_count is not null
    group by client_key, dataset_index, image_count
    union all
    select client_key, dataset_index, 'audio_count' as field, audio_count as value, count(*) as n
    from source where audio_count is not null
    group by client_key, dataset_index, audio_count
    union all
    select client_key, dataset_index, 'video_count' as field, video_count as value, count(*) as n
    from source where video_count is not null
    group by client_key, dataset_index, video_count
),

media as (
    select
        client_key,
        offset_us // $dataset_window_us as dataset_index,
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
    from keyed_requests
    where is_success and category = 'multimodal' and image_count + audio_count + video_count > 0
),

item_values as (
    select client_key, dataset_index, 'image_tokens' as field, unnest(image_items) as value
    from media
    union all
    select client_key, dataset_index, 'audio_tokens' as field, unnest(audio_items) as value
    from media
    union all
    select client_key, dataset_index, 'video_tokens' as field, unnest(video_items) as value
    from media
),

item_counts as (
    select client_key, dataset_index, field, value, count(*) as n
    from item_values
    group by all
),

client_counts as (
    select * from scalar_counts
    union all
    select * from item_counts
),

-- the model's distribution over all its clients; keyed -1 - model_key to share one key column
model_counts as (
    select
        -1 - c.model_key as client_key,
        null::bigint as dataset_index,
        k.field,
        k.value,
        sum(k.n)::bigint as n
    from client_counts as k
    inner join clients as c on k.client_key = c.client_key
    group by c.model_key, k.field, k.value
),

counts as (
    select * from client_counts
    union all
    select * from model_counts
),

ratio_groups as (
    select distinct client_key, dataset_index
    from counts
    where field = 'reason_ratio'
),

dense_ratio as (
    select
        g.client_key,
        g.dataset_index,
        'reason_ratio' as field,
        grid.value,
        coalesce(c.n, 0) as n
    from ratio_groups as g
    cross join (select range as value from range($ratio_points)) as grid
    left join counts as c
        on
            c.field = 'reason_ratio'
            and c.client_key = g.client_key
            and c.dataset_index is not distinct from g.dataset_index
            and c.value = grid.value
),

all_counts as (
    select * from counts where field <> 'reason_ratio'
    union all
    select * from dense_ratio
),

totals as (
    select client_key, dataset_index, field, sum(n) as n_total
    from all_counts
    group by client_key, dataset_index, field
),

entries as (
    select
        a.client_key,
        a.dataset_index,
        a.field,
        a.value,
        a.n,
        case
            when a.field = 'reason_ratio' then (a.value / ($ratio_points - 1))::double::varchar
            else a.value::varchar
        end || ': ' || (a.n / t.n_total)::double::varchar as entry
    from all_counts as a
    inner join totals as t
        on
            a.client_key = t.client_key
            and a.dataset_index is not distinct from t.dataset_index
            and a.field = t.field
),

final as (
    select
        coalesce(c.category, m.category) as category,
        coalesce(c.model, m.model) as model,
        c.client_id,
        e.dataset_index,
        e.field,
        e.value,
        e.n,
        e.entry
    from entries as e
    left join clients as c on e.client_key = c.client_key
    left join (select distinct model_key, category, model from clients) as m
        on e.client_key = -1 - m.model_key
)

select * from final
order by category, model, client_id nulls first, dataset_index nulls first, field, value
