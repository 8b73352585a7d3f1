"""The kinds of Word template (kept apart so the command line names them without loading
the renderer)."""

PLAN = "plan"  # the support plan
REVIEW = "review"  # the formal review pack
