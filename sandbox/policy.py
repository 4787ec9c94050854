"""Static policy for rule code: an AST allowlist, then RestrictedPython with guarded operators.

:func:`compile_rule` is the only entry point. It runs in the parent (so the code generator's
validator can report problems as text for repair) and again in every worker (so a worker never
runs code that it did not check itself). Three steps, all of which must pass:

1. ``ast.parse`` plus size limits (source length, node count, nesting depth).
2. Our allowlist (:class:`_Checker`): only the statement and expression types that rules need;
   no imports, classes, decorators, ``global``, ``yield``, ``with``, ``async``, ``match``,
   ``except*`` or bare ``except``; no name or attribute that starts with ``_``; no frame,
   code or generator internals and no ``format``/``format_map`` attribute; no use of builtins
   that rules are not given (``open``, ``getattr``, ``type``, ``eval``...); a top-level
   ``def check(scene):``.
3. RestrictedPython's ``compile_restricted_exec`` with :class:`_GuardedPolicy`, which rewrites
   attribute, item, iteration and write access into calls of the guards of
   :mod:`sandbox.guards`, and additionally ``a ** b``, ``a * b`` and ``a << b`` into size-checked
   calls (``_pow_``, ``_mul_``, ``_lshift_``), so ``10 ** 10 ** 8`` fails fast instead of
   eating the worker.
"""

from __future__ import annotations

import ast
import copy
import warnings
from dataclasses import dataclass
from types import CodeType

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

from sandbox.errors import PolicyError

RULE_FILENAME = "<rule>"
"""File name of compiled rule code (tracebacks are matched on it)."""

ENTRY_POINT = "check"
"""Name of the function every rule must define."""

DEFAULT_MAX_SOURCE_CHARS = 50_000
MAX_NODES = 20_000
MAX_DEPTH = 60

_ALLOWED_NODE_NAMES = (
    # structure
    "Module arguments arg keyword comprehension ExceptHandler "
    # statements
    "FunctionDef Return Assign AugAssign AnnAssign For While If Raise Try Assert Expr Pass "
    "Break Continue Delete "
    # expressions
    "BoolOp NamedExpr BinOp UnaryOp Lambda IfExp Dict Set ListComp SetComp DictComp "
    "GeneratorExp Compare Call JoinedStr FormattedValue Constant Attribute Subscript Starred "
    "Name List Tuple Slice "
    # contexts and operators
    "Load Store Del And Or Add Sub Mult MatMult Div Mod Pow LShift RShift BitOr BitXor BitAnd "
    "FloorDiv Invert Not UAdd USub Eq NotEq Lt LtE Gt GtE Is IsNot In NotIn"
).split()
ALLOWED_NODES: frozenset[type] = frozenset(
    getattr(ast, n) for n in _ALLOWED_NODE_NAMES if hasattr(ast, n)
)

_NODE_HINTS = {
    "Import": "imports are not allowed: the scene API and builtins such as len, sorted, min, "
    "max, sum and math are already available",
    "ImportFrom": "imports are not allowed: the scene API and builtins such as len, sorted, "
    "min, max, sum and math are already available",
    "ClassDef": "classes are not allowed; use functions, tuples and dicts",
    "Global": "global is not allowed; keep state in local variables",
    "Nonlocal": "nonlocal is not allowed; return values instead",
    "Yield": "generator functions (yield) are not allowed; build and return a list",
    "YieldFrom": "generator functions (yield from) are not allowed; build and return a list",
    "With": "with statements are not allowed",
    "AsyncWith": "async code is not allowed",
    "AsyncFor": "async code is not allowed",
    "AsyncFunctionDef": "async code is not allowed",
    "Await": "async code is not allowed",
    "TryStar": "except* is not allowed; use a plain try/except Exception",
    "Match": "match statements are not allowed; use if/elif",
}

DENIED_ATTRIBUTES: frozenset[str] = frozenset(INSPECT_ATTRIBUTES) | frozenset(
    {
        "format",
        "format_map",
        "mro",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "ag_await",
        "tb_frame",
        "tb_next",
        "f_back",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_code",
        "f_trace",
        "co_code",
        "func_globals",
        "func_code",
        "im_func",
        "im_self",
    }
)
"""Attribute names refused even though they do not start with ``_``."""

DENIED_NAMES: frozenset[str] = frozenset(
    {
        "open",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "type",
        "globals",
        "locals",
        "vars",
        "dir",
        "eval",
        "exec",
        "compile",
        "input",
        "print",
        "breakpoint",
        "help",
        "object",
        "super",
        "memoryview",
        "bytearray",
        "bytes",
        "classmethod",
        "staticmethod",
        "property",
        "format",
        "id",
        "exit",
        "quit",
        "sys",
        "os",
        "builtins",
        "importlib",
        "ctypes",
        "subprocess",
        "socket",
        "string",
        "Formatter",
        "BaseException",
        "SystemExit",
        "KeyboardInterrupt",
        "GeneratorExit",
    }
)
"""Names rule code may not read unless it binds them itself (they are not provided)."""

_NAME_HINTS = {
    "print": "print is not available; return violations instead",
    "format": "format() is not available; use an f-string",
    "type": "type() is not available; use isinstance()",
    "getattr": "getattr() is not available; use plain attribute access",
    "hasattr": "hasattr() is not available; use plain attribute access",
}


@dataclass(frozen=True)
class CompiledRule:
    """A rule that passed the policy.

    Attributes:
        source: The rule source as given.
        code: Restricted module code object (file name ``<rule>``); run it in fresh globals
            built by :func:`sandbox.guards.rule_globals`, then call ``check``.

    """

    source: str
    code: CodeType


def compile_rule(source: str, *, max_source_chars: int = DEFAULT_MAX_SOURCE_CHARS) -> CompiledRule:
    """Check rule source against the policy and compile it with RestrictedPython.

    Args:
        source: Python source defining ``def check(scene):``.
        max_source_chars: Longest accepted source.

    Returns:
        The compiled rule.

    Raises:
        PolicyError: Listing every problem found, each as ``line N: what is wrong``.

    """
    if not isinstance(source, str):
        raise PolicyError([f"rule source must be a str, got {type(source).__name__}"])
    if len(source) > max_source_chars:
        raise PolicyError(
            [f"rule source has {len(source)} characters; the limit is {max_source_chars}"]
        )
    with warnings.catch_warnings():
        # SyntaxWarnings about rule code ("is" with a literal...) are not ours to print
        warnings.simplefilter("ignore")
        return _compile(source)


def _compile(source: str) -> CompiledRule:
    try:
        tree = ast.parse(source, RULE_FILENAME, "exec")
    except SyntaxError as exc:
        raise PolicyError([f"line {exc.lineno}: SyntaxError: {exc.msg}"]) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise PolicyError([f"rule source cannot be parsed: {type(exc).__name__}"]) from None
    problems = check_tree(tree)
    if problems:
        raise PolicyError(problems)
    try:
        result = compile_restricted_exec(tree, RULE_FILENAME, policy=_GuardedPolicy)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise PolicyError([f"rule source cannot be compiled: {type(exc).__name__}"]) from None
    if result.errors or result.code is None:
        raise PolicyError([_restricted_message(e) for e in result.errors])
    return CompiledRule(source=source, code=result.code)


def check_tree(tree: ast.Module) -> list[str]:
    """Allowlist problems of a parsed rule, in source order (empty if none).

    Args:
        tree: The module as returned by ``ast.parse``.

    Returns:
        ``line N: problem`` strings.

    """
    size = _size_problem(tree)
    if size:
        return [size]
    checker = _Checker(_bound_names(tree))
    checker.visit(tree)
    problems = checker.problems
    if not any(
        isinstance(node, ast.FunctionDef) and node.name == ENTRY_POINT for node in tree.body
    ):
        problems.append((0, "rule code must define `def check(scene):` at the top level"))
    else:
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == ENTRY_POINT:
                params = node.args.posonlyargs + node.args.args
                required = len(params) - len(node.args.defaults)
                if not (params or node.args.vararg) or required > 1:
                    problems.append(
                        (node.lineno, "check must take exactly one argument: `def check(scene):`")
                    )
    problems.sort(key=lambda p: p[0])
    seen: set[str] = set()
    out = []
    for line, text in problems:
        msg = f"line {line}: {text}" if line else text
        if msg not in seen:
            seen.add(msg)
            out.append(msg)
    return out


def _size_problem(tree: ast.AST) -> str | None:
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            return f"rule code is too large (more than {MAX_NODES} syntax nodes)"
        if depth > MAX_DEPTH:
            return f"line {getattr(node, 'lineno', 0)}: rule code is nested too deeply"
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the rule binds anywhere (assignments, parameters, defs, except-as)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _bad_identifier(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and name != "_"


class _Checker(ast.NodeVisitor):
    """Collects allowlist problems as (line, text)."""

    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.problems: list[tuple[int, str]] = []

    def _add(self, node: ast.AST, text: str) -> None:
        self.problems.append((getattr(node, "lineno", 0), text))

    def generic_visit(self, node: ast.AST) -> None:
        if type(node) not in ALLOWED_NODES:
            name = type(node).__name__
            self._add(node, _NODE_HINTS.get(name, f"{name} syntax is not allowed in rule code"))
            return
        super().generic_visit(node)

    def _identifier(self, node: ast.AST, name: str | None, what: str) -> None:
        if _bad_identifier(name):
            self._add(node, f'{what} "{name}" is not allowed: names starting with "_" are reserved')

    def visit_Name(self, node: ast.Name) -> None:
        self._identifier(node, node.id, "name")
        if isinstance(node.ctx, ast.Load) and node.id in DENIED_NAMES and node.id not in self.bound:
            hint = _NAME_HINTS.get(node.id, f'"{node.id}" is not available in rule code')
            self._add(node, hint)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._identifier(node, node.attr, "attribute")
        if node.attr in DENIED_ATTRIBUTES:
            hint = " (use an f-string)" if node.attr in ("format", "format_map") else ""
            self._add(node, f'attribute "{node.attr}" is not allowed{hint}')
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._identifier(node, node.name, "function name")
        if node.decorator_list:
            self._add(node, "decorators are not allowed")
        if node.returns is not None:
            self.visit(node.returns)
        self.visit(node.args)
        for stmt in node.body:
            self.visit(stmt)

    def visit_arg(self, node: ast.arg) -> None:
        self._identifier(node, node.arg, "parameter")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        self._identifier(node, node.arg, "keyword argument")
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self._add(node, "bare `except:` is not allowed; use `except Exception:`")
        self._identifier(node, node.name, "name")
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self._add(node, "async code is not allowed")
        self.generic_visit(node)


def _is_pure(node: ast.AST) -> bool:
    """True for expressions that are safe to evaluate twice (names, constants, lookups)."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _is_pure(node.value)
    if isinstance(node, ast.Subscript):
        return _is_pure(node.value) and _is_pure(node.slice)
    if isinstance(node, ast.Tuple):
        return all(_is_pure(e) for e in node.elts)
    return False


_GUARDED_BINOPS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_"}


class _GuardedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus size-checked ``**``, ``*``, ``<<`` and ``d[k] += v``."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _GUARDED_BINOPS.get(type(node.op))
        if guard is None:
            return node
        func = ast.copy_location(ast.Name(guard, ast.Load()), node)
        call = ast.Call(func=func, args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        if isinstance(target, ast.Subscript) and _is_pure(target):
            # d[k] += v  ->  d[k] = d[k] + v  (d and k are evaluated twice; they are pure)
            load = ast.Subscript(
                value=copy.deepcopy(target.value), slice=copy.deepcopy(target.slice), ctx=ast.Load()
            )
            store = ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Store())
            value = ast.BinOp(left=load, op=node.op, right=node.value)
            assign = ast.Assign(targets=[store], value=value)
            for new in (load, store, value, assign):
                ast.copy_location(new, node)
            ast.fix_missing_locations(assign)
            return self.visit(assign)
        return super().visit_AugAssign(node)


def _restricted_message(error: str) -> str:
    """RestrictedPython's ``Line 3: text`` as ``line 3: text``, with a hint where useful."""
    text = error
    if text.startswith("Line "):
        text = "line " + text[5:]
    if "Augmented assignment" in text:
        text += " Write `d[k] = d[k] + 1` when the target is a call or a computed value."
    return text
