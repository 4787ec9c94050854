"""``logicode inspect``: images -> scenes -> rule verdicts -> records, explanations, reports."""
