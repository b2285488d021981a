-- distributions
-- grain:    one row per (category, model, client_id, dataset window, field), plus one per
--           (category, model, field) over the whole log with client_id and dataset_index NULL
-- inputs:   requests
-- params:   origin_us, dataset_window_us, ratio_points
-- contract: distributions@1. `dict_literal` is ServeGen's `{value: probability, ...}` text,
--           built only from integers and doubles. Failed requests (non-2xx) are left out.
--           Token fields use integer keys; reason_ratio is a dense grid k/(ratio_points-1);
--           *_tokens of a modality are per item (a list per request, or the total spread
--           evenly over the request's items).
with source as (
    select
        category,
        model,
        client_id,
        (arrival_us - $origin_us) // $dataset_window_us as dataset_index,
        input_tokens,
        output_tokens,
        text_tokens,
        image_count,
        audio_count,
        video_count,
        round(coalesce(reason_tokens, 0) / nullif(output_tokens, 0) * ($ratio_points - 1))::bigint
            as reason_ratio_index,
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
    from requests
    where is_success
),

pairs as (
    select
        category,
        model,
        client_id,
        dataset_index,
        unnest(
            case category
                when 'language' then [
                    {'field': 'input_tokens', 'value': input_tokens},
                    {'field': 'output_tokens', 'value': output_tokens}
                ]
                when 'reason' then [
                    {'field': 'input_tokens', 'value': input_tokens},
                    {'field': 'output_tokens', 'value': output_tokens},
                    {'field': 'reason_ratio', 'value': coalesce(reason_ratio_index, 0)}
                ]
                else list_concat(
                    [
                        {'field': 'text_tokens', 'value': text_tokens},
                        {'field': 'output_tokens', 'value': output_tokens},
                        {'field': 'image_count', 'value': image_count},
                        {'field': 'audio_count', 'value': audio_count},
                        {'field': 'video_count', 'value': video_count}
                    ],
                    list_transform(image_items, lambda v: {'field': 'image_tokens', 'value': v}),
                    list_transform(audio_items, lambda v: {'field': 'audio_tokens', 'value': v}),
                    list_transform(video_items, lambda v: {'field': 'video_tokens', 'value': v})
                )
            end
        ) as pair
    from source
),

client_counts as (
    select
        category,
        model,
        client_id,
        dataset_index,
        pair.field as field,
        pair.value as value,
        count(*) as n
    from pairs
    group by all
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
