"""Just enough PromQL reading for the dashboard tests: the series an expression selects, with the
labels it matches on, and the labels it groups by. Not a parser: `promtool check rules` checks
the syntax (test_dashboard.py); this only has to tell metric names from functions, keywords,
label names and strings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip
# Words followed by a list of label names: `by (le)`, `on (instance)`, `group_left (reason)`.
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# Operators and modifiers spelt as words.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2"}

_TOKEN = re.compile(
    r"""
      (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<range>\[[^\]]*\])
    | (?P<duration>(?:\d+(?:ms|[smhdwy]))+\b)
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<variable>\$\{\w+\}|\$\w+)
    | (?P<ident>[A-Za-z_:][\w:]*)
    | (?P<punct>[(){},@]|[=!]~|[=!<>]=?|[-+*/%^])
    | (?P<space>\s+)
    """,
    re.VERBOSE,
)


@dataclass
class Query:
    # (metric name, label names its matchers use), in order of appearance.
    selectors: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)

    @property
    def metrics(self) -> set[str]:
        return {name for name, _ in self.selectors}


def _tokens(expr: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"unexpected {expr[position : position + 10]!r} in {expr!r}")
        assert match.lastgroup is not None
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
        position = match.end()
    return tokens


def read(expr: str) -> Query:
    """The selectors and grouping labels of a PromQL expression (Grafana variables allowed)."""
    tokens = _tokens(expr)
    query = Query()

    def after(i: int) -> str:
        return tokens[i + 1][1] if i + 1 < len(tokens) else ""

    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "punct" and text == "{":
            raise ValueError(f"a selector without a metric name in {expr!r}")
        if kind != "ident":
            i += 1
            continue
        word = text.lower()
        if word in GROUPING and after(i) == "(":
            end = next(j for j in range(i, len(tokens)) if tokens[j][1] == ")")
            query.grouping |= {t for k, t in tokens[i + 2 : end] if k == "ident"}
            i = end + 1
        elif word in KEYWORDS or word in GROUPING or after(i) == "(":
            i += 1  # an operator, or a function or aggregation called
        elif word in AGGREGATIONS and after(i).lower() in ("by", "without"):
            i += 1  # `sum by (le) (...)`
        elif after(i) == "{":
            end = next(j for j in range(i, len(tokens)) if tokens[j][1] == "}")
            # Label names are the only names between the braces: values are strings.
            labels = frozenset(t for k, t in tokens[i + 2 : end] if k == "ident")
            query.selectors.append((text, labels))
            i = end + 1
        else:
            query.selectors.append((text, frozenset()))
            i += 1
    return query


_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.*),\s*(?P<label>\w+)\s*\)\s*$")


def label_values(definition: str) -> tuple[str, str]:
    """A Grafana variable's `label_values(selector, label)`: the selector, and the label."""
    match = _LABEL_VALUES.match(definition)
    if match is None:
        raise ValueError(f"not label_values(selector, label): {definition!r}")
    return match["selector"], match["label"]
