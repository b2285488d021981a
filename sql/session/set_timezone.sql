-- set_timezone
-- grain:    (statement) the session time zone used to read naive ISO-8601 timestamps
-- inputs:   (none)
-- params:   tz
set TimeZone = $tz
