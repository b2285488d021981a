-- staged_before
-- grain:    one row per staged row (accepted or rejected) that arrived before until_us
-- inputs:   staged
-- params:   until_us
-- contract: staged@1, unchanged: the training part of a held-out split. Rejected rows
--           without a timestamp stay out (the training run's account is not reported).
select * from staged where arrival_us < $until_us
