-- parse
-- grain:    (macros) helpers that turn untrusted text fields into typed values or NULL
-- inputs:   (none)
-- params:   (none)
-- A NULL result means "present but not parseable"; callers compare with the raw text.

-- An integer written as text: "12", " 12 ", "12.0" and "1.2e3" parse; "12.5", "x" do not.
-- (A plain bigint cast would round "12.5" to 13, so text with a decimal point or an exponent
-- goes through double and must be integral. Casts ignore surrounding blanks: no trim needed.)
create or replace macro sc_int(t) as
    case
        when t is null then null
        when not (contains(t, '.') or contains(t, 'e') or contains(t, 'E'))
            then try_cast(t as bigint)
        when isfinite(try_cast(t as double))
            and try_cast(t as double) = floor(try_cast(t as double))
            and abs(try_cast(t as double)) < 9.0e18
            then try_cast(t as double)::bigint
    end;

-- A list of per-item token counts, written "[256, 512]".
create or replace macro sc_items(t) as
    case when starts_with(ltrim(t), '[') then try_cast(t as bigint[]) end;

-- A non-negative finite float (latencies).
create or replace macro sc_nonneg_double(t) as
    case
        when isfinite(try_cast(t as double)) and try_cast(t as double) >= 0
            then try_cast(t as double)
    end;

-- Arrival time in epoch microseconds: a number of `unit_us` microseconds, or ISO-8601 text
-- (naive text is read in the session time zone, which ingest sets from --tz). Text with a
-- colon is tried as a timestamp first: a failed numeric cast costs more than the test.
create or replace macro sc_epoch_us(t, unit_us) as
    case
        when contains(t, ':') then epoch_us(try_cast(t as timestamptz))
        else coalesce(
            try_cast(round(try_cast(t as decimal(38, 9)) * unit_us) as bigint),
            try_cast(round(try_cast(t as double) * unit_us) as bigint),
            epoch_us(try_cast(t as timestamptz))
        )
    end;

-- One modality of a request, from its parsed count column and tokens column (a total, or a
-- list of per-item tokens). Callers parse each text once (sc_int, sc_items) and pass the
-- results, so that no text is parsed twice.
create or replace macro sc_modality_tokens(tokens_n, items) as
    coalesce(list_sum(items)::bigint, case when items is not null then 0 end, tokens_n, 0)::bigint;

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
