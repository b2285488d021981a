-- read_lines
-- grain:    one row per physical line of one JSON Lines file (blank lines as NULL)
-- inputs:   the file at $path (plain, .gz or .zst)
-- params:   path
-- chr(1) never occurs unescaped in valid JSON, so every line is one field; quoting is off
-- so that JSON's own quotes pass through untouched.
select line
from read_csv(
    $path,
    columns = {'line': 'VARCHAR'},
    header = false,
    auto_detect = false,
    delim = chr(1),
    quote = '',
    escape = '',
    strict_mode = false,
    store_rejects = true
)
