"""Quantity expressions of license models, evaluated safely with ``simpleeval`` (never ``eval``).

A license model says how many licenses one consumer needs, as an expression over the consumer's
hardware facts, e.g. ``max(cores_per_processor, 4) * processors``. Expressions are validated when a
license model is saved or imported (unknown names and syntax errors are refused), and evaluated per
consumer by the engine. A fact the expression needs but the consumer lacks raises
:class:`ExpressionError` — a missing core count must never silently become 0 or 1 licenses.
"""
from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from simpleeval import DEFAULT_OPERATORS, InvalidExpression, SimpleEval

#: The facts an expression may use (see docs/catalog.md).
NAMES: tuple[str, ...] = (
    "processors", "cores", "cores_per_processor", "threads", "vcpus", "core_factor", "pvu_per_core",
    "ram_gb", "is_virtual", "is_server",
)
BOOLEAN_NAMES = frozenset({"is_virtual", "is_server"})
MAX_LENGTH = 500


class ExpressionError(ValueError):
    """An expression cannot be parsed, uses an unknown name, or lacks a fact for this consumer.

    ``code`` is a stable reason code: ``expression.invalid`` (syntax, unknown name or function) or
    ``expression.missing_fact`` (``missing`` names the fact).
    """

    def __init__(self, message: str, *, code: str = "expression.invalid", missing: str = ""):
        super().__init__(message)
        self.code = code
        self.missing = missing


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raise ExpressionError(f"{value!r} is not a number")


def _ceil(x: Any) -> Decimal:
    return Decimal(math.ceil(_number(x)))


def _floor(x: Any) -> Decimal:
    return Decimal(math.floor(_number(x)))


def _round(x: Any, digits: Any = 0) -> Decimal:
    # Commercial rounding (half up), not banker's rounding: 2.5 cores round to 3.
    from decimal import ROUND_HALF_UP

    exponent = Decimal(1).scaleb(-int(_number(digits)))
    return _number(x).quantize(exponent, rounding=ROUND_HALF_UP)


def _min(*args: Any) -> Decimal:
    if not args:
        raise ExpressionError("min() needs at least one value")
    return min(_number(a) for a in args)


def _max(*args: Any) -> Decimal:
    if not args:
        raise ExpressionError("max() needs at least one value")
    return max(_number(a) for a in args)


FUNCTIONS = {"ceil": _ceil, "floor": _floor, "min": _min, "max": _max, "round": _round}

_ALLOWED_OPERATORS = {
    op: fn for op, fn in DEFAULT_OPERATORS.items()
    if op in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd, ast.Not,
              ast.Eq, ast.NotEq, ast.Gt, ast.Lt, ast.GtE, ast.LtE)
}


class _Evaluator(SimpleEval):
    """simpleeval restricted to arithmetic, comparisons, conditionals and our functions, in Decimal."""

    def __init__(self, facts: Mapping[str, Any] | None):
        super().__init__(operators=dict(_ALLOWED_OPERATORS), functions=dict(FUNCTIONS), names={})
        self.facts = facts
        for node_type in (ast.Assign, ast.AugAssign, ast.Import, ast.Subscript, ast.Attribute, ast.Index,
                          ast.Slice, ast.JoinedStr, ast.FormattedValue, ast.keyword):
            self.nodes.pop(node_type, None)

    def _eval_constant(self, node):  # type: ignore[override]
        value = node.value
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return _number(value)
        raise ExpressionError(f"{value!r} is not allowed in a quantity expression (only numbers)")

    def _eval_name(self, node):  # type: ignore[override]
        name = node.id
        if name in ("True", "False"):
            return name == "True"
        if name not in NAMES:
            raise ExpressionError(f"unknown name {name!r}; use one of {', '.join(NAMES)}")
        if self.facts is None:  # validation: any plausible value
            return True if name in BOOLEAN_NAMES else Decimal(2)
        value = self.facts.get(name)
        if value is None:
            raise ExpressionError(f"the consumer has no value for {name}", code="expression.missing_fact",
                                  missing=name)
        if name in BOOLEAN_NAMES:
            return bool(value)
        return _number(value)

    def _eval_call(self, node):  # type: ignore[override]
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            label = getattr(node.func, "id", type(node.func).__name__)
            raise ExpressionError(f"unknown function {label!r}; use one of {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed")
        return FUNCTIONS[node.func.id](*(self._eval(a) for a in node.args))


def _parse(text: str) -> ast.AST:
    text = (text or "").strip()
    if not text:
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from exc
    return tree.body


def _run(text: str, facts: Mapping[str, Any] | None) -> Decimal:
    node = _parse(text)
    evaluator = _Evaluator(facts)
    evaluator.expr = text
    try:
        value = evaluator._eval(node)
    except ExpressionError:
        raise
    except ZeroDivisionError as exc:
        raise ExpressionError("division by zero", code="expression.invalid") from exc
    except (InvalidExpression, InvalidOperation, TypeError, ValueError, OverflowError) as exc:
        raise ExpressionError(str(exc) or type(exc).__name__) from exc
    return _number(value)


def names_used(text: str) -> set[str]:
    """The fact names an expression refers to (after it parsed)."""
    return {n.id for n in ast.walk(_parse(text)) if isinstance(n, ast.Name) and n.id in NAMES}


def validate_expression(text: str) -> str:
    """Check an expression and return it stripped; raise :class:`ExpressionError` if it is unusable.

    Refuses syntax errors, names other than :data:`NAMES`, functions other than ``ceil``, ``floor``,
    ``min``, ``max``, ``round``, and constructs such as attribute access or strings. Both branches of
    a conditional are checked.
    """
    text = (text or "").strip()
    node = _parse(text)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in NAMES and sub.id not in FUNCTIONS:
            raise ExpressionError(f"unknown name {sub.id!r}; use one of {', '.join(NAMES)}")
        if isinstance(sub, ast.Call) and (not isinstance(sub.func, ast.Name) or sub.func.id not in FUNCTIONS):
            label = getattr(sub.func, "id", type(sub.func).__name__)
            raise ExpressionError(f"unknown function {label!r}; use one of {', '.join(FUNCTIONS)}")
        if isinstance(sub, ast.IfExp):
            # Evaluate each branch on its own so an error hidden behind the condition shows now.
            for branch in (sub.body, sub.orelse, sub.test):
                _Evaluator(None)._eval(branch)
    _run(text, None)
    return text


def evaluate(text: str, facts: Mapping[str, Any]) -> Decimal:
    """The quantity an expression gives for one consumer's facts, as a Decimal (not rounded).

    ``facts`` maps :data:`NAMES` to numbers (``is_virtual``/``is_server`` to booleans); a name the
    expression needs whose value is missing or ``None`` raises ``ExpressionError`` with
    ``code="expression.missing_fact"``. Names the expression does not use may be missing.
    """
    return _run(text, facts)
