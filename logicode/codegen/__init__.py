"""LogiCode: natural-language rules to verified rule code."""
