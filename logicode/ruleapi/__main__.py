"""``python -m logicode.ruleapi [prompt|markdown]``: print the rule API reference."""

import sys

from logicode.ruleapi.reference import api_reference

sys.stdout.write(api_reference(sys.argv[1] if len(sys.argv) > 1 else "prompt"))
