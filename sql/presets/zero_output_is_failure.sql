-- zero_output_is_failure
-- grain:    one row per record of one input file (the mapped canonical columns, as text)
-- inputs:   preset_input: source_rows before the preset's value transform
-- params:   failure_status
-- BurstGPT logs a failed request as a row with 0 response tokens. It is an arrival like any
-- other, but not a zero-length answer: give it a failure status (unless the log has one) so
-- that aggregate counts it in the trace and leaves it out of the length distributions.
select * replace (
    case
        when status is null and sc_int(output_tokens) = 0 then $failure_status::varchar
        else status
    end as status
)
from preset_input
