-- rejects
-- grain:    one row per rejected input record, in file order
-- inputs:   staged, duplicates, raw_texts, structural (structural_rejects), input_files
-- params:   (none)
-- `line` is the physical line for text formats and the row number for Parquet. The CSV
-- reader numbers only the records it could split, so a content reject's line is shifted
-- past the structural rejects above it (and the header line).
with flagged as (
    select file_index, source_row, reject_reason, reject_detail
    from staged
    where reject_reason is not null
    union all
    select
        file_index,
        source_row,
        'duplicate_request_id' as reject_reason,
        'request_id=' || request_id as reject_detail
    from duplicates
),

content as (
    select f.*, r.raw_text
    from flagged as f
    left join raw_texts as r on f.file_index = r.file_index and f.source_row = r.source_row
),

structural_ranked as (
    select
        file_index,
        line,
        line - row_number() over (partition by file_index order by line) as records_before
    from structural
),

content_located as (
    select
        c.file_index,
        c.source_row
        + f.header_lines
        + (
            select count(*) from structural_ranked as s
            where s.file_index = c.file_index and s.records_before - f.header_lines < c.source_row
        ) as line,
        c.reject_reason,
        c.reject_detail,
        c.raw_text
    from content as c
    inner join input_files as f on c.file_index = f.file_index
),

unioned as (
    select * from content_located
    union all
    select file_index, line, reject_reason, reject_detail, raw_text from structural
),

final as (
    select
        f.display_path as source_file,
        u.line,
        u.reject_reason as reason,
        u.reject_detail as detail,
        u.raw_text
    from unioned as u
    inner join input_files as f on u.file_index = f.file_index
    order by u.file_index, u.line
)

select * from final
