-- disable_progress_bar
-- grain:    (statement) stderr carries servechar's own progress and errors only
-- inputs:   (none)
-- params:   (none)
set enable_progress_bar = false
