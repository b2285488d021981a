-- insert_raw_texts
-- grain:    (statement) add one file's (source_row, raw_text) pairs to raw_texts
-- inputs:   found_raw_texts, raw_texts
-- params:   file_index
insert into raw_texts
select $file_index as file_index, source_row, raw_text from found_raw_texts
