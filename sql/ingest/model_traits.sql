-- model_traits
-- grain:    one row per (model, explicit category or NULL) among rows that passed the checks,
--           with what its rows carry
-- inputs:   staged (stg_requests output: all files', or one file's on Spark)
-- params:   (none)
-- A merge of several files' model_traits is again model_traits input for model_categories:
-- bool_or and distinct give the same result over the parts as over the whole.
select
    model,
    category_text,
    bool_or(coalesce(reason_tokens, 0) > 0) as has_reasoning,
    bool_or(
        image_count + audio_count + video_count > 0
        or image_tokens + audio_tokens + video_tokens > 0
    ) as has_media
from staged
where reject_reason is null
group by model, category_text
