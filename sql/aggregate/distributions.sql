-- distributions
-- grain:    one row per (category, model, client_id, dataset window, field), plus one per
--           (category, model, field) over the whole log with client_id and dataset_index NULL
-- inputs:   keyed_requests, clients
-- params:   dataset_window_us, ratio_points
-- contract: distributions@1. `dict_literal` is ServeGen's `{value: probability, ...}` text,
--           built only from integers and doubles. Failed requests (non-2xx) are left out.
--           Token fields use integer keys; reason_ratio is a dense grid k/(ratio_points-1);
--           *_tokens of a modality are per item (a list per request, or the total spread
--           evenly over the request's items).
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

-- one pass, one hash table per field
scalar_counts as (
    select
        client_key,
        dataset_index,
        case
            when grouping(input_tokens) = 0 then 'input_tokens'
            when grouping(output_tokens) = 0 then 'output_tokens'
            when grouping(reason_ratio) = 0 then 'reason_ratio'
            when grouping(text_tokens) = 0 then 'text_tokens'
            when grouping(image_count) = 0 then 'image_count'
            when grouping(audio_count) = 0 then 'audio_count'
            else 'video_count'
        end as field,
        coalesce(
            input_tokens, output_tokens, reason_ratio, text_tokens,
            image_count, audio_count, video_count
        ) as value,
        count(*) as n
    from source
    group by grouping sets (
        (client_key, dataset_index, input_tokens),
        (client_key, dataset_index, output_tokens),
        (client_key, dataset_index, reason_ratio),
        (client_key, dataset_index, text_tokens),
        (client_key, dataset_index, image_count),
        (client_key, dataset_index, audio_count),
        (client_key, dataset_index, video_count)
    )
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
    select
        c.category,
        c.model,
        c.client_id,
        k.dataset_index,
        k.field,
        k.value,
        k.n
    from (
        select * from scalar_counts where value is not null
        union all
        select * from item_counts
    ) as k
    inner join clients as c on k.client_key = c.client_key
),

model_counts as (
    select
        category,
        model,
        null::varchar as client_id,
        null::bigint as dataset_index,
        field,
        value,
        sum(n)::bigint as n
    from client_counts
    group by category, model, field, value
),

counts as (
    select * from client_counts
    union all
    select * from model_counts
),

ratio_groups as (
    select distinct category, model, client_id, dataset_index
    from counts
    where field = 'reason_ratio'
),

dense_ratio as (
    select
        g.category,
        g.model,
        g.client_id,
        g.dataset_index,
        'reason_ratio' as field,
        grid.value,
        coalesce(c.n, 0) as n
    from ratio_groups as g
    cross join (select range as value from range($ratio_points)) as grid
    left join counts as c
        on
            c.field = 'reason_ratio'
            and c.category = g.category
            and c.model = g.model
            and c.client_id is not distinct from g.client_id
            and c.dataset_index is not distinct from g.dataset_index
            and c.value = grid.value
),

all_counts as (
    select * from counts where field <> 'reason_ratio'
    union all
    select * from dense_ratio
),

with_probability as (
    select
        *,
        n / sum(n) over (partition by category, model, client_id, dataset_index, field)
            as probability,
        sum(n) over (partition by category, model, client_id, dataset_index, field) as n_total
    from all_counts
),

final as (
    select
        category,
        model,
        client_id,
        dataset_index,
        field,
        any_value(n_total)::bigint as n_values,
        '{' || string_agg(
            case
                when field = 'reason_ratio' then (value / ($ratio_points - 1))::double::varchar
                else value::varchar
            end || ': ' || probability::double::varchar,
            ', ' order by value
        ) || '}' as dict_literal
    from with_probability
    group by category, model, client_id, dataset_index, field
)

select * from final
order by category, model, client_id nulls first, dataset_index nulls first, field
