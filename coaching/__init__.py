"""The coaching core: pure Python, no application, web or database framework.

- `coaching.cadence`: when a rhythm falls due (daily, weekdays, weekly, fortnightly, monthly on a day or
  an nth weekday) at a local time in an IANA time zone, correct across daylight-saving changes.
- `coaching.prompts`: the tagged library of reflection and Kata prompts (content/coaching/prompts/) and
  the rotation that never repeats a prompt before the set is used up.
- `coaching.questions`: the gemba question sets (content/coaching/questions/).
- `coaching.library`: both loaded and checked at once, for `lms content check` and the application.
- `coaching.escalation`: the tier an overdue follow-up has reached, and which leader up the unit tree
  holds it.
- `coaching.standard_work`: leader-standard-work targets by stakeholder role and adherence to them.

Every setting that cannot be raises a `coaching.errors.FieldError` naming the field and what to fix.
"""
