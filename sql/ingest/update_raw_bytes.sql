-- update_raw_bytes
-- grain:    (statement) replace the reader's raw_text of non-UTF-8 lines by their escaped bytes
-- inputs:   structural, escaped_lines(file_index, line, raw_text)
-- params:   (none)
update structural as s
set raw_text = e.raw_text
from escaped_lines as e
where s.file_index = e.file_index and s.line = e.line
