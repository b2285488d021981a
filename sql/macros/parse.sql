-- parse
-- grain:    (macros) helpers that turn untrusted text fields into typed values or NULL
-- inputs:   (none)
-- params:   (none)
-- A NULL result means "present but not parseable"; callers compare with the raw text.
-- DuckDB's casts accept more than a request log means ('0x10', '1_000', '0b1', 'epoch',
-- offsets of +25:00), so every text is first matched against the plain decimal or ISO-8601
-- shape and only then cast.

-- A plain decimal number: digits with an optional sign, fraction and exponent.
create or replace macro sc_is_number(t) as
    regexp_full_match(t, '\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*');

-- An integer written as text: "12", " 12 ", "12.0" and "1.2e3" parse; "12.5", "x", "0x10",
-- "1_000" do not. (A plain bigint cast would round "12.5" to 13, so text with a decimal point
-- or an exponent goes through double and must be integral.)
create or replace macro sc_int(t) as
    case
        when t is null then null
        when regexp_full_match(t, '\s*[+-]?[0-9]+\s*') then try_cast(t as bigint)
        when sc_is_number(t)
            and isfinite(try_cast(t as double))
            and try_cast(t as double) = floor(try_cast(t as double))
            and abs(try_cast(t as double)) < 9.0e18
            then try_cast(t as double)::bigint
    end;

-- A list of per-item token counts, written "[256, 512]": NULL unless every item is an integer.
create or replace macro sc_items(t) as
    case
        when starts_with(ltrim(t), '[')
            and coalesce(list_bool_and(
                list_transform(try_cast(t as varchar[]), lambda x: sc_int(x) is not null)
            ), try_cast(t as varchar[]) is not null)
            then list_transform(try_cast(t as varchar[]), lambda x: sc_int(x))
    end;

-- A non-negative finite float (latencies).
create or replace macro sc_nonneg_double(t) as
    case
        when sc_is_number(t) and isfinite(try_cast(t as double)) and try_cast(t as double) >= 0
            then try_cast(t as double)
    end;

-- ISO-8601 date or date-time text, with an optional UTC offset of at most +/-14:00.
create or replace macro sc_is_iso_time(t) as
    regexp_full_match(
        t,
        '\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}'
        || '([T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?'
        || '\s*(Z|z|UTC|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?)?\s*'
    );

-- Naive ISO text (no offset or zone): read in the session time zone (--tz).
create or replace macro sc_is_naive_time(t) as
    not regexp_matches(t, ':[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)?\s*([Zz]|UTC|[+-][0-9]{2}(:?[0-9]{2})?)\s*$');

-- Arrival time in epoch microseconds: a number of `unit_us` microseconds, or ISO-8601 text
-- (naive text is read in the session time zone, which ingest sets from --tz).
create or replace macro sc_epoch_us(t, unit_us) as
    case
        when sc_is_iso_time(t) then epoch_us(try_cast(t as timestamptz))
        when sc_is_number(t) then coalesce(
            try_cast(round(try_cast(t as decimal(38, 9)) * unit_us) as bigint),
            try_cast(round(try_cast(t as double) * unit_us) as bigint)
        )
    end;

-- The UTC instants whose wall-clock time in the session time zone (--tz) is the naive local
-- time `l`: one normally, none in a spring-forward gap, two in a fall-back overlap. The
-- candidates are `l` minus the offsets in force three hours before and after (no zone
-- changes its offset twice within six hours).
create or replace macro sc_tz_offset(x) as x::timestamp - timezone('UTC', x);

create or replace macro sc_local_instants(l) as
    list_sort(list_distinct(list_filter(
        [
            timezone('UTC', l - sc_tz_offset(l::timestamptz - interval 3 hours)),
            timezone('UTC', l - sc_tz_offset(l::timestamptz + interval 3 hours))
        ],
        lambda c: c::timestamp = l
    )));

-- A numeric timestamp's value in seconds (at `unit_us`), to name the likely unit when it is
-- out of range.
create or replace macro sc_number_seconds(t, unit_us) as
    case when sc_is_number(t) then try_cast(t as double) * unit_us / 1e6 end;

-- One modality of a request, from its parsed count column and tokens column (a total, or a
-- list of per-item tokens). Callers parse each text once (sc_int, sc_items) and pass the
-- results, so that no text is parsed twice.
create or replace macro sc_modality_tokens(tokens_n, items) as
    coalesce(
        try_cast(list_sum(items::hugeint[]) as bigint),
        case when items is not null then 0 end,
        tokens_n,
        0
    )::bigint;

create or replace macro sc_modality_items(count_n, tokens_n, items) as
    coalesce(count_n, len(items), case when tokens_n > 0 then 1 else 0 end)::bigint;

create or replace macro sc_modality_is_valid(count_text, count_n, tokens_text, tokens_n, items) as
    (count_text is null or count_n is not null)
    and (tokens_text is null or items is not null or tokens_n is not null)
    and coalesce(count_n, 0) >= 0
    and coalesce(tokens_n, 0) >= 0
    and coalesce(list_min(items), 0) >= 0
    and (items is null or count_n is null or count_n = len(items))
    and not (coalesce(count_n, 1) = 0 and coalesce(list_sum(items), tokens_n, 0) > 0);
