-- spreadsheet
-- grain:    (macros) text cells that a spreadsheet shows as text, never runs as a formula
-- inputs:   (none)
-- params:   (none)
-- The SQL twin of pipeline/spreadsheet.safe_cell (OWASP's CSV-injection advice): a NUL byte
-- becomes the text \x00, and a cell starting with = + - @ tab or CR (after any quotes) gets
-- a leading '.
create or replace macro sc_safe_cell(t) as
    case
        when t is null then null
        when regexp_matches(replace(t, chr(0), '\x00'), '^''*[=+\-@\t\r]')
            then '''' || replace(t, chr(0), '\x00')
        else replace(t, chr(0), '\x00')
    end;
