-- invalid_encoding_lines
-- grain:    one row per structural reject whose line is not valid UTF-8
-- inputs:   structural (structural_rejects)
-- params:   (none)
select file_index, line from structural where is_invalid_encoding order by file_index, line
