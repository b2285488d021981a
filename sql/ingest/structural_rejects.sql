-- structural_rejects
-- grain:    one row per record the CSV reader could not split into the header's fields
-- inputs:   reject_errors, reject_scans (DuckDB's store_rejects tables), input_files
-- params:   (none)
with errors as (
    select
        f.file_index,
        e.line,
        e.error_type,
        e.csv_line,
        e.error_message
    from reject_errors as e
    inner join reject_scans as s on e.scan_id = s.scan_id and e.file_id = s.file_id
    inner join input_files as f on s.file_path = f.read_path
),

final as (
    select distinct on (file_index, line)
        file_index,
        line::bigint as line,
        case
            when error_type in ('TOO MANY COLUMNS', 'MISSING COLUMNS') then 'wrong_field_count'
            else 'malformed_row'
        end as reject_reason,
        error_message as reject_detail,
        csv_line as raw_text,
        -- the reader shows the bytes it could not decode as '?': ingest re-reads them
        error_type = 'INVALID ENCODING' as is_invalid_encoding
    from errors
    order by file_index, line
)

select * from final
