-- litellm_times
-- grain:    one row per record of one input file (the mapped canonical columns, as text)
-- inputs:   preset_input: source_rows before the preset's value transform; the preset maps
--           startTime to timestamp, completionStartTime to ttft_ms and endTime to e2e_ms
-- params:   failure_status
-- LiteLLM spend logs hold times, not latencies: TTFT and end-to-end latency are differences
-- to startTime, in milliseconds. A time that does not parse is passed on as it is, so that
-- ingest rejects the row as invalid_latency instead of silently dropping the latency.
-- status is "success" or "failure" (older proxies leave it empty: success).
with times as (
    select
        *,
        epoch_us(try_cast("timestamp" as timestamptz)) as start_us,
        epoch_us(try_cast(ttft_ms as timestamptz)) as first_token_us,
        epoch_us(try_cast(e2e_ms as timestamptz)) as end_us
    from preset_input
)

select * exclude (start_us, first_token_us, end_us) replace (
    case lower(trim(status))
        when 'success' then '200'
        when 'failure' then $failure_status::varchar
        else status
    end as status,
    coalesce(((first_token_us - start_us) / 1000.0)::varchar, ttft_ms) as ttft_ms,
    coalesce(((end_us - start_us) / 1000.0)::varchar, e2e_ms) as e2e_ms
)
from times
