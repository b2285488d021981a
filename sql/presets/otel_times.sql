-- otel_times
-- grain:    one row per record of one input file (the mapped canonical columns, as text)
-- inputs:   preset_input: source_rows before the preset's value transform; the preset maps
--           the span's start_time to timestamp, end_time to e2e_ms and status.status_code
--           to status
-- params:   failure_status
-- A span's duration is the request's end-to-end latency (ms). OpenTelemetry status codes are
-- UNSET, OK and ERROR: ERROR is a failed request, the others are successes. A time that does
-- not parse is passed on as it is, so that ingest rejects the row as invalid_latency.
with times as (
    select
        *,
        epoch_us(try_cast("timestamp" as timestamptz)) as start_us,
        epoch_us(try_cast(e2e_ms as timestamptz)) as end_us
    from preset_input
)

select * exclude (start_us, end_us) replace (
    case upper(trim(status))
        when 'ERROR' then $failure_status::varchar
        when 'STATUS_CODE_ERROR' then $failure_status::varchar
        when 'OK' then '200'
        when 'STATUS_CODE_OK' then '200'
        when 'UNSET' then null
        when 'STATUS_CODE_UNSET' then null
        else status
    end as status,
    coalesce(((end_us - start_us) / 1000.0)::varchar, e2e_ms) as e2e_ms
)
from times
