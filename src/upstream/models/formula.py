"""Parse lme4-style model formulas.

    csat ~ policy + product + channel + (1 | agent) + (1 | customer)
    y ~ a * b + x + (1 + x | g) + (1 | team/agent) + (1 | agent:policy) + (x || g)
    cbind(successes, failures) ~ period + (1 | herd)

The fixed part follows R's `terms()` rules: `a*b` is `a + b + a:b`, `a/b` is `a + a:b`, `-1` or
`+0` removes the intercept, terms are ordered by degree and then by first appearance, and the
variables inside an interaction are ordered by their first appearance in the formula. A random
term `(lhs | g)` is a correlated block; `(lhs || g)` splits into one independent term per column;
`(lhs | a/b)` means `(lhs | a) + (lhs | a:b)`. `factor(x)` marks a numeric column as categorical.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ModelInputError

_TOKEN = re.compile(r"\s*(?:(`[^`]+`)|([A-Za-z_.][A-Za-z0-9_.]*)|(\d+(?:\.\d*)?)|(\|\||[~+\-*/:|(),^]))")


@dataclass(frozen=True)
class Term:
    """An interaction of variables; the empty term is the intercept."""

    variables: tuple[str, ...]

    @property
    def label(self) -> str:
        return ":".join(self.variables) if self.variables else "(Intercept)"


@dataclass
class TermList:
    """Terms of a linear predictor, as R's terms(): intercept flag plus ordered terms."""

    intercept: bool
    terms: list[Term]
    variables: list[str]          # in order of first appearance
    categorical: set[str] = field(default_factory=set)   # variables forced to factors by factor()


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects block `(lhs | group)`."""

    lhs: TermList
    group: tuple[str, ...]        # interaction of grouping variables, e.g. ('team', 'agent'); () for mm()
    source: str                   # the text as written, for messages
    membership: str | None = None  # `(1 | mm(agent_id))`: a multiple-membership term (weights from membership.py)

    @property
    def group_label(self) -> str:
        return self.membership or ":".join(self.group)


@dataclass
class Formula:
    text: str
    response: tuple[str, ...]     # ('y',) or ('successes', 'failures') for cbind
    fixed: TermList
    random: list[RandomTerm]

    @property
    def variables(self) -> list[str]:
        """Every data column the formula uses."""
        seen: list[str] = []
        for v in [*self.response, *self.fixed.variables,
                  *(x for r in self.random for x in (*r.lhs.variables, *r.group))]:
            if v not in seen:
                seen.append(v)
        return seen


class FormulaError(ModelInputError):
    """A formula that cannot be read (a ModelInputError, hence a ValueError)."""


# --------------------------------------------------------------------------------------------------
# tokenising and parsing into a small expression tree
# --------------------------------------------------------------------------------------------------

def _tokenise(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaError(f"cannot read the formula {text!r} at position {pos}: {text[pos:pos + 10]!r}")
        tok = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        tokens.append(tok)
        pos = m.end()
    return tokens


class _Parser:
    """Recursive descent over: sum := prod (('+'|'-') prod)*; prod := inter (('*'|'/') inter)*;
    inter := atom (':' atom)*; atom := name | number | '(' sum ')' | '(' sum '|' sum ')' | call."""

    def __init__(self, tokens: list[str], text: str):
        self.toks, self.i, self.text = tokens, 0, text

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected=None):
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            want = f"{expected!r}" if expected else "more"
            raise FormulaError(f"malformed formula {self.text!r}: expected {want} but found {tok!r}")
        self.i += 1
        return tok

    def sum(self):
        node = self.prod()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = (op, node, self.prod())
        return node

    def prod(self):
        node = self.inter()
        while self.peek() in ("*", "/"):
            op = self.take()
            node = (op, node, self.inter())
        return node

    def inter(self):
        node = self.atom()
        while self.peek() == ":":
            self.take()
            node = (":", node, self.atom())
        return node

    def atom(self):
        tok = self.take()
        if tok == "(":
            inner = self.sum()
            if self.peek() in ("|", "||"):
                bar = self.take()
                group = self.sum()
                self.take(")")
                return ("bar", bar, inner, group)
            self.take(")")
            return ("paren", inner)
        if tok == "-":                      # leading minus, as in `~ -1 + x`
            return ("neg", self.atom())
        if tok.startswith("`"):
            return ("var", tok[1:-1])
        if re.fullmatch(r"\d+(?:\.\d*)?", tok):
            return ("num", tok)
        if self.peek() == "(":             # function call: factor(x), cbind(a, b)
            self.take("(")
            args = [self.sum()]
            while self.peek() == ",":
                self.take(",")
                args.append(self.sum())
            self.take(")")
            return ("call", tok, args)
        if tok in "~+*/:|(),^" or tok == "||":
            raise FormulaError(f"malformed formula {self.text!r}: unexpected {tok!r}")
        return ("var", tok)


# --------------------------------------------------------------------------------------------------
# expansion into terms (R semantics)
# --------------------------------------------------------------------------------------------------

class _Expander:
    def __init__(self, text: str):
        self.text = text
        self.order: list[str] = []
        self.categorical: set[str] = set()
        self.random: list[RandomTerm] = []

    def note(self, name: str):
        if name not in self.order:
            self.order.append(name)

    def expand(self, node, allow_random: bool) -> tuple[list[frozenset], bool | None, list]:
        """Return (terms as frozensets of variables in order, intercept override, removed terms)."""
        kind = node[0]
        if kind == "var":
            self.note(node[1])
            return [frozenset([node[1]])], None, []
        if kind == "num":
            if node[1] in ("0",):
                return [], False, []
            if node[1] in ("1",):
                return [], True, []
            raise FormulaError(f"malformed formula {self.text!r}: a number other than 0 or 1 ({node[1]}) in a formula")
        if kind == "paren":
            return self.expand(node[1], allow_random)
        if kind == "neg":
            terms, icpt, _ = self.expand(node[1], allow_random)
            return [], (False if icpt else None), terms
        if kind == "call":
            fn, args = node[1], node[2]
            if fn in ("factor", "as.factor", "ordered") and len(args) == 1 and args[0][0] == "var":
                self.note(args[0][1])
                self.categorical.add(args[0][1])
                return [frozenset([args[0][1]])], None, []
            raise FormulaError(f"malformed formula {self.text!r}: the function {fn}() is not supported here "
                               "(supported: factor(x); cbind(a, b) on the left-hand side)")
        if kind == "bar":
            if not allow_random:
                raise FormulaError(f"malformed random term in {self.text!r}: random terms cannot be nested")
            self.random.extend(self.random_terms(node))
            return [], None, []
        op, left, right = node
        lt, li, lr = self.expand(left, allow_random)
        if op in ("+", "-"):
            rt, ri, rr = self.expand(right, allow_random)
            if op == "+":
                icpt = ri if ri is not None else li
                return lt + rt, icpt, lr + rr
            # a - b
            icpt = False if ri is True else li
            return lt, icpt, lr + rt + rr
        rt, ri, rr = self.expand(right, allow_random)
        if op == ":":
            return [a | b for a in lt for b in rt], None, []
        if op == "*":
            return lt + rt + [a | b for a in lt for b in rt], None, []
        if op == "/":
            left_all = frozenset().union(*lt) if lt else frozenset()
            return lt + [left_all | b for b in rt], None, []
        raise FormulaError(f"malformed formula {self.text!r}: operator {op!r} is not supported")

    def termlist(self, node, allow_random: bool, default_intercept: bool = True) -> TermList:
        terms, icpt, removed = self.expand(node, allow_random) if node is not None else ([], None, [])
        seen, unique = set(), []
        for t in terms:
            if t and t not in seen and t not in removed:
                seen.add(t)
                unique.append(t)
        intercept = default_intercept if icpt is None else icpt
        if frozenset() in removed:
            intercept = False
        ordered = sorted(unique, key=lambda t: (len(t), unique.index(t)))
        rank = {v: i for i, v in enumerate(self.order)}
        out = [Term(tuple(sorted(t, key=rank.__getitem__))) for t in ordered]
        variables = [v for v in self.order if any(v in t.variables for t in out)]
        return TermList(intercept=intercept, terms=out, variables=variables,
                        categorical={v for v in self.categorical if v in variables})

    def random_terms(self, node) -> list[RandomTerm]:
        _, bar, lhs_node, group_node = node
        source = f"({_unparse(lhs_node)} {bar} {_unparse(group_node)})"
        lhs = _Expander(self.text)
        lhs.order, lhs.categorical = self.order, self.categorical
        lhs_terms = lhs.termlist(lhs_node, allow_random=False)
        inner = group_node[1] if group_node[0] == "paren" else group_node
        if inner[0] == "call" and inner[1] == "mm":
            if bar != "|" or len(inner[2]) != 1 or inner[2][0][0] != "var":
                raise FormulaError(f"malformed random term {source}: a multiple-membership term is written "
                                   "(1 | mm(agent_id)), one grouping name inside mm()")
            if not lhs_terms.intercept and not lhs_terms.terms:
                raise FormulaError(f"malformed random term {source}: it has no columns")
            return [RandomTerm(lhs_terms, (), source, membership=inner[2][0][1])]
        groups = self.grouping(group_node, source)
        out = []
        for group in groups:
            for v in group:
                self.note(v)
            if bar == "||":
                if lhs_terms.intercept:
                    out.append(RandomTerm(TermList(True, [], [], set()), group, source))
                for t in lhs_terms.terms:
                    out.append(RandomTerm(TermList(False, [t], list(t.variables),
                                                   {v for v in lhs_terms.categorical if v in t.variables}),
                                          group, source))
            else:
                if not lhs_terms.intercept and not lhs_terms.terms:
                    raise FormulaError(f"malformed random term {source}: it has no columns")
                out.append(RandomTerm(lhs_terms, group, source))
        return out

    def grouping(self, node, source) -> list[tuple[str, ...]]:
        """`g` -> [(g,)], `a:b` -> [(a, b)], `a/b` -> [(a,), (a, b)], `a + b` is not allowed."""
        kind = node[0]
        if kind == "var":
            return [(node[1],)]
        if kind == "paren":
            return self.grouping(node[1], source)
        if kind in (":", "/"):
            left = self.grouping(node[1], source)
            right = self.grouping(node[2], source)
            if kind == ":":
                if len(left) != 1 or len(right) != 1:
                    raise FormulaError(f"malformed random term {source}: cannot interact nested groupings")
                return [left[0] + right[0]]
            outer = left[-1]
            return left + [outer + r for r in right]
        raise FormulaError(f"malformed random term {source}: the grouping factor must be a variable, "
                           "an interaction a:b or a nesting a/b")


def _unparse(node) -> str:
    kind = node[0]
    if kind == "var":
        return node[1]
    if kind == "num":
        return node[1]
    if kind == "paren":
        return f"({_unparse(node[1])})"
    if kind == "neg":
        return f"-{_unparse(node[1])}"
    if kind == "call":
        return f"{node[1]}({', '.join(_unparse(a) for a in node[2])})"
    if kind == "bar":
        return f"({_unparse(node[2])} {node[1]} {_unparse(node[3])})"
    sep = ":" if node[0] == ":" else f" {node[0]} "
    return f"{_unparse(node[1])}{sep}{_unparse(node[2])}"


def parse_formula(text: str) -> Formula:
    """Parse an lme4-style formula into response, fixed terms and random terms."""
    if not isinstance(text, str) or "~" not in text:
        raise FormulaError("a model formula needs a response and '~', e.g. 'csat ~ policy + (1 | agent)'; "
                           f"got {text!r}")
    lhs_text, rhs_text = text.split("~", 1)
    if not lhs_text.strip():
        raise FormulaError(f"the formula {text!r} has no response on the left of '~'")
    lhs = _Parser(_tokenise(lhs_text), text)
    lhs_node = lhs.sum()
    if lhs.peek() is not None:
        raise FormulaError(f"malformed formula {text!r}: unexpected {lhs.peek()!r} in the response")
    if lhs_node[0] == "var":
        response = (lhs_node[1],)
    elif lhs_node[0] == "call" and lhs_node[1] == "cbind" and len(lhs_node[2]) == 2 \
            and all(a[0] == "var" for a in lhs_node[2]):
        response = (lhs_node[2][0][1], lhs_node[2][1][1])
    elif lhs_node[0] == "call" and lhs_node[1] in ("factor", "ordered") and lhs_node[2][0][0] == "var":
        response = (lhs_node[2][0][1],)
    else:
        raise FormulaError(f"malformed formula {text!r}: the response must be a column name or cbind(a, b)")
    parser = _Parser(_tokenise(rhs_text), text)
    if parser.peek() is None:
        raise FormulaError(f"the formula {text!r} has nothing on the right of '~'")
    node = parser.sum()
    if parser.peek() is not None:
        raise FormulaError(f"malformed formula {text!r}: unexpected {parser.peek()!r}")
    expander = _Expander(text)
    fixed = expander.termlist(node, allow_random=True)
    return Formula(text=text, response=response, fixed=fixed, random=expander.random)
