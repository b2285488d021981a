-- rejects_csv
-- grain:    one row per rejected input record, in file order (as ingest/rejects)
-- inputs:   rejects (the ingest/rejects query)
-- params:   (none)
-- The rows of rejects.csv: text taken from the log is made safe for spreadsheets
-- (macros/spreadsheet); `reason` is servechar's own word and `line` a number.
with final as (
    select
        sc_safe_cell(source_file) as source_file,
        line,
        reason,
        sc_safe_cell(detail) as detail,
        sc_safe_cell(raw_text) as raw_text
    from rejects
)

select * from final
