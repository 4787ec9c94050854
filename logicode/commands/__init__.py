"""Command functions of the ``logicode`` CLI, one module per command (registered in cli.py)."""
