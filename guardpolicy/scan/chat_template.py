"""Judge a chat template (Jinja2 source) for constructs that reach Python internals.

llama-cpp-python before 0.2.72 (CVE-2024-34359), and other servers since, render a model's
``tokenizer.chat_template`` with a plain ``jinja2.Environment``: any attribute of any object is
reachable, so ``lipsum.__globals__.os.popen(...)`` runs a command when the model is loaded.
Real chat templates only loop over messages, index dicts, call string methods and filters; the
way out of Jinja always goes through an internal name (``__class__``, ``__globals__``,
``_TemplateReference__context``, ``mro``), a Jinja global used as an object (``lipsum``,
``cycler``, ``self``), or web-app objects SSTI payloads probe for (``config``, ``request``).

The template is never rendered. It is parsed with jinja2 when that is installed and the syntax
tree is walked; expressions that build a name (``'__cl' ~ 'ass__'``, ``[...]|join``,
``'%c'|format(95)``, ``|reverse``, ``dict(__cl=1)|join``, variables set to such values) are
folded to the constants they spell, so an obfuscated name is judged as what it names. A name
that is built at render time from something that cannot be folded is itself reported. Without
jinja2, or when the source does not parse, the code parts of the template are checked as text.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional

#: attributes that lead from any object into the interpreter (dunder and mangled names are judged apart)
_INTERNAL_ATTRS = frozenset([
    "mro", "func_globals", "func_code", "func_closure", "func_defaults", "f_globals", "f_locals",
    "f_builtins", "f_back", "f_code", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
    "tb_frame", "tb_next", "co_code", "im_func", "im_self", "cell_contents",
])
#: attributes that name process, import or eval machinery (as attributes only: ``x['system']`` is data)
_EXEC_ATTRS = frozenset([
    "os", "sys", "subprocess", "builtins", "importlib", "popen", "system", "check_output", "check_call",
    "getoutput", "getstatusoutput", "Popen", "import_module", "eval", "exec", "compile", "modules",
])
_SPAWN = re.compile(r"(?:spawn|exec)[lvpe]+\Z")
#: free names that are Python machinery: no chat template is given a variable by these names
_EXEC_NAMES = frozenset([
    "os", "sys", "subprocess", "builtins", "importlib", "eval", "exec", "compile", "getattr", "setattr",
    "globals", "locals", "vars", "open", "__import__", "__builtins__",
])
#: Flask objects that SSTI payloads reach for (``config.items()``, ``request.application``)
_WEB_NAMES = frozenset(["config", "request", "url_for", "get_flashed_messages"])
#: Jinja's default globals: harmless when called, a door into Python when used as objects
_GADGETS = frozenset(["lipsum", "cycler", "joiner", "namespace", "range", "dict", "self"])
#: filters whose ``attribute=`` (or first argument) is an attribute path looked up on objects
_ATTRIBUTE_FILTERS = frozenset(["map", "selectattr", "rejectattr", "groupby", "sort", "sum", "unique", "min",
                                "max", "join"])
_FIRST_ARG_IS_ATTRIBUTE = frozenset(["selectattr", "rejectattr", "groupby"])
#: filters whose output is an iterator or a Jinja object: turned into text they spell ``<generator ...>``
_OBJECT_FILTERS = frozenset(["select", "reject", "map", "selectattr", "rejectattr", "batch", "slice", "attr"])
#: a string literal that is, or spells an access to, an interpreter internal
_DUNDER_LITERAL = re.compile(r"\A\s*__[a-z][a-z0-9_]*__\s*\Z")
#: Python's private-name mangling (``_TemplateReference__context``)
_MANGLED = re.compile(r"_[A-Za-z0-9]+__")
#: str.format fields that walk into an underscore name (``'{0.__class__}'``), or an eval payload
_CODE_LITERAL = re.compile(r"\{[^{}]{0,200}?(?:\.|\[)\s*['\"]?_|__import__\s*\(")

#: the AST walk handles sources up to this size; larger ones get the textual check
MAX_PARSED = 1 << 20
_MAX_VALUES = 16
_MAX_TEXT = 4096
_MAX_FOLD_DEPTH = 40


def template_constructs(source: str) -> List[str]:
    """The constructs in ``source`` that reach Python internals (empty when it looks like a chat template)."""
    if "{{" not in source and "{%" not in source:
        return []  # plain text: nothing Jinja evaluates
    found = None
    if len(source) <= MAX_PARSED:
        found = _ast_constructs(source)
    if found is None:
        found = _text_constructs(source)
    return _dedupe(found)


def _dedupe(items: Iterable[str]) -> List[str]:
    """First occurrence of each construct, in order."""
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# -- the syntax tree ------------------------------------------------------------------------------
_ENV = None


def _environment():
    """A parse-only environment accepting every tag real chat templates use (``None`` without jinja2)."""
    global _ENV
    if _ENV is None:
        try:
            import jinja2
            from jinja2 import nodes
            from jinja2.ext import Extension
        except ImportError:
            _ENV = False
            return None

        class _Generation(Extension):
            # transformers' ``{% generation %}`` marks assistant text for training masks
            tags = {"generation"}

            def parse(self, parser):
                lineno = next(parser.stream).lineno
                body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
                return nodes.Scope(body, lineno=lineno)

        _ENV = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _Generation])
    return _ENV or None


def _ast_constructs(source: str) -> Optional[List[str]]:
    """Constructs found in the parsed template; ``None`` when jinja2 is missing or the source does not parse."""
    env = _environment()
    if env is None:
        return None
    try:
        tree = env.parse(source)
        return _TreeJudge(tree).run()
    except RecursionError:
        return None
    except Exception:  # noqa: BLE001 - a syntax error (or any parser surprise): the textual check decides
        return None


class _TreeJudge:
    """One walk over a parsed template."""

    def __init__(self, tree):
        from jinja2 import nodes

        self.n = nodes
        self.tree = tree
        self.parent: Dict[int, object] = {}
        self.order: List[object] = []
        stack = [tree]
        while stack:
            node = stack.pop()
            self.order.append(node)
            for child in node.iter_child_nodes():
                self.parent[id(child)] = node
                stack.append(child)
        self.bound = set()      # names the template assigns (never free)
        self.values: Dict[str, List] = {}
        self.partial = set()    # names also assigned something not constant (their values are not all known)
        self.built = set()      # names assigned from a string built at render time
        self._bind()
        self.out: List[str] = []

    # -- bindings ------------------------------------------------------------------------------
    def _bind(self) -> None:
        """What each assigned name may hold (flow-insensitive; a few passes reach names set from names)."""
        n = self.n
        for node in self.order:
            if isinstance(node, n.Name) and node.ctx in ("store", "param"):
                self.bound.add(node.name)
            elif isinstance(node, n.Macro):
                self.bound.add(node.name)
            elif isinstance(node, n.Import):
                self.bound.add(node.target)
            elif isinstance(node, n.FromImport):
                self.bound.update(x if isinstance(x, str) else x[-1] for x in node.names)
        macros = {node.name: [a.name for a in node.args] for node in self.order if isinstance(node, n.Macro)}
        for _ in range(3):
            for node in self.order:
                if isinstance(node, n.Assign):
                    self._assign(node.target, node.node)
                elif isinstance(node, n.For):
                    items = self.fold(node.iter)
                    if items is not None and isinstance(node.target, n.Name):
                        for seq in items:
                            if isinstance(seq, (tuple, str)):
                                self._add(node.target.name, list(seq))
                            else:
                                self.partial.add(node.target.name)
                    else:
                        self._unknown(node.target)
                elif isinstance(node, n.With):
                    for target, value in zip(node.targets, node.values):
                        self._assign(target, value)
                elif isinstance(node, n.Macro):
                    # a parameter holds whatever a caller passes: its default is one value among others
                    for target in node.args:
                        self.partial.add(target.name)
                    params = node.args[len(node.args) - len(node.defaults):]
                    for target, value in zip(params, node.defaults):
                        self._assign(target, value)
                elif isinstance(node, n.AssignBlock) and isinstance(node.target, n.Name):
                    text = self._block_text(node.body)
                    if text is not None:
                        self._add(node.target.name, [text])
                    else:
                        self.partial.add(node.target.name)
                elif isinstance(node, n.Call) and isinstance(node.node, n.Name):
                    if node.node.name in macros:
                        # arguments flow into the macro's parameters
                        params = macros[node.node.name]
                        for name, arg in zip(params, node.args):
                            self._assign_value(name, arg)
                        for kw in node.kwargs:
                            self._assign_value(kw.key, kw.value)
                    elif node.node.name == "namespace":
                        owner = self.parent.get(id(node))
                        if isinstance(owner, n.Assign) and isinstance(owner.target, n.Name):
                            for kw in node.kwargs:
                                self._assign_value(f"{owner.target.name}.{kw.key}", kw.value)

    def _assign(self, target, value) -> None:
        """Record ``target = value`` for a name, a namespace attribute or a tuple of names."""
        n = self.n
        if isinstance(target, n.Name):
            self._assign_value(target.name, value)
        elif isinstance(target, n.NSRef):
            self._assign_value(f"{target.name}.{target.attr}", value)
        elif isinstance(target, n.Tuple) and isinstance(value, (n.Tuple, n.List)):
            for t, v in zip(target.items, value.items):
                self._assign(t, v)
        else:
            self._unknown(target)

    def _unknown(self, target) -> None:
        """Names bound to values only known at render time (loop variables over messages, unpacking)."""
        n = self.n
        for name in [target] + list(target.find_all(n.Name)):
            if isinstance(name, n.Name):
                self.partial.add(name.name)

    def _assign_value(self, key: str, value) -> None:
        got = self.fold(value)
        if got is not None:
            self._add(key, got)
        else:
            self.partial.add(key)
            if self._builds_string(value):
                self.built.add(key)

    def _add(self, key: str, got: List) -> None:
        have = self.values.setdefault(key, [])
        for v in got:
            if v not in have and len(have) < _MAX_VALUES:
                have.append(v)

    def _block_text(self, body) -> Optional[str]:
        """The text a ``{% set x %}...{% endset %}`` block holds, when it is constant."""
        n = self.n
        parts = []
        for stmt in body:
            if not isinstance(stmt, n.Output):
                return None
            for node in stmt.nodes:
                if isinstance(node, n.TemplateData):
                    parts.append(node.data)
                else:
                    got = self.fold(node)
                    if got is None or len(got) != 1:
                        return None
                    parts.append(_text(got[0]))
        text = "".join(parts)
        return text if len(text) <= _MAX_TEXT else None

    # -- folding ---------------------------------------------------------------------------------
    def fold(self, node, depth: int = 0) -> Optional[List]:
        """The constant values ``node`` can have (str, numbers, tuples), or ``None`` when not constant."""
        if depth > _MAX_FOLD_DEPTH or node is None:
            return None
        n = self.n
        try:
            if isinstance(node, n.Const):
                return [node.value] if _small(node.value) else None
            if isinstance(node, (n.Name, n.Getattr)):
                key = self._binding(node)
                return None if key is None or key in self.partial else self.values.get(key)
            if isinstance(node, (n.List, n.Tuple)):
                return self._fold_seq(node.items, depth)
            if isinstance(node, n.Dict):
                return self._fold_seq([p.key for p in node.items], depth)
            if isinstance(node, n.Concat):
                return self._combine([self.fold(x, depth + 1) for x in node.nodes], lambda *a: "".join(map(_text, a)))
            if isinstance(node, (n.Add, n.Mul, n.Mod)):
                left, right = self.fold(node.left, depth + 1), self.fold(node.right, depth + 1)
                op = {n.Add: _add, n.Mul: _mul, n.Mod: _percent}[type(node)]
                return self._combine([left, right], op)
            if isinstance(node, (n.Neg, n.Pos)):
                got = self.fold(node.node, depth + 1)
                sign = -1 if isinstance(node, n.Neg) else 1
                return self._combine([got], lambda v: sign * v if isinstance(v, (int, float)) else None)
            if isinstance(node, n.CondExpr):
                a, b = self.fold(node.expr1, depth + 1), self.fold(node.expr2, depth + 1)
                return None if a is None or b is None else (a + b)[:_MAX_VALUES]
            if isinstance(node, n.Getitem):
                return self._fold_getitem(node, depth)
            if isinstance(node, n.Filter):
                return self._fold_filter(node, depth)
            if isinstance(node, n.Call):
                return self._fold_call(node, depth)
        except (TypeError, ValueError, IndexError, KeyError, OverflowError, MemoryError):
            return None
        return None

    def _binding(self, node) -> Optional[str]:
        """The binding a name (``x``) or namespace attribute (``ns.x``) reads."""
        n = self.n
        if isinstance(node, n.Name):
            return node.name
        if isinstance(node, n.Getattr) and isinstance(node.node, n.Name):
            return f"{node.node.name}.{node.attr}"
        return None

    def _fold_seq(self, items, depth: int) -> Optional[List]:
        vals = []
        for item in items:
            got = self.fold(item, depth + 1)
            if got is None or len(got) != 1:
                return None
            vals.append(got[0])
        return [tuple(vals)]

    @staticmethod
    def _combine(parts: List[Optional[List]], op) -> Optional[List]:
        """Apply ``op`` over every combination of the parts' values (bounded)."""
        if any(p is None for p in parts):
            return None
        combos = [()]
        for p in parts:
            combos = [c + (v,) for c in combos for v in p][:_MAX_VALUES]
        out = []
        for c in combos:
            v = op(*c)
            if v is None or not _small(v):
                return None
            out.append(v)
        return out

    def _fold_getitem(self, node, depth: int) -> Optional[List]:
        n = self.n
        base = self.fold(node.node, depth + 1)
        if base is None:
            return None
        if isinstance(node.arg, n.Slice):
            bounds = [self.fold(x, depth + 1) if x is not None else [None] for x in
                      (node.arg.start, node.arg.stop, node.arg.step)]
            return self._combine([base] + bounds, lambda s, a, b, c: s[slice(a, b, c)] if c != 0 else None)
        return self._combine([base, self.fold(node.arg, depth + 1)], lambda s, i: s[i] if isinstance(i, int) else None)

    def _fold_filter(self, node, depth: int) -> Optional[List]:
        n = self.n
        name = node.name
        if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
            return None
        base = self.fold(node.node, depth + 1)
        if base is None and name in ("join", "list", "first", "last") and isinstance(node.node, n.Call):
            base = self._dict_keys(node.node, depth)
        if base is None:
            return None
        args = [self.fold(a, depth + 1) for a in node.args]
        if any(a is None for a in args) or node.kwargs:
            return None
        fn = _FILTERS.get(name)
        if fn is None:
            return None
        return self._combine([base] + args, fn)

    def _dict_keys(self, call, depth: int) -> Optional[List]:
        """``dict(__cl=1, ass__=1)``: a dict whose keys spell a name when joined."""
        n = self.n
        if isinstance(call.node, n.Name) and call.node.name == "dict" and not call.args and "dict" not in self.bound:
            return [tuple(kw.key for kw in call.kwargs)]
        return None

    def _fold_call(self, node, depth: int) -> Optional[List]:
        n = self.n
        if not isinstance(node.node, n.Getattr) or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return self._dict_keys(node, depth) if isinstance(node.node, n.Name) else None
        receiver = self.fold(node.node.node, depth + 1)
        if receiver is None:
            return None
        args = [self.fold(a, depth + 1) for a in node.args]
        if any(a is None for a in args):
            return None
        method = node.node.attr
        if method not in _STR_METHODS:
            return None

        def call(s, *a):
            if not isinstance(s, str):
                return None
            if method == "format" and not _safe_format(s, a):
                return None
            return getattr(s, method)(*a)

        return self._combine([receiver] + args, call)

    def _builds_string(self, node) -> bool:
        """Whether ``node`` assembles a string from pieces (the shape of an obfuscated name).

        Transforming one dynamic value (``message['role']|lower``) is data handling; gluing pieces
        together (``~``, ``+``, ``|join``, ``|format``, ``.format``, ``|replace``, ``|reverse``) is how
        a forbidden name gets spelled without appearing in the source.
        """
        n = self.n
        if isinstance(node, n.Concat):
            return True
        if isinstance(node, (n.Add, n.Mul, n.Mod)):
            return any(isinstance(x, n.Const) and isinstance(x.value, str) for x in (node.left, node.right)) or \
                self._builds_string(node.left) or self._builds_string(node.right)
        if isinstance(node, n.Filter):
            return node.name in ("join", "format", "replace", "reverse") or (
                node.node is not None and self._builds_string(node.node))
        if isinstance(node, n.Call) and isinstance(node.node, n.Getattr):
            return node.node.attr in ("format", "join", "replace", "pop")
        if isinstance(node, n.Getitem):
            return self._builds_string(node.node)
        if isinstance(node, n.Name):
            return node.name in self.built
        if isinstance(node, n.CondExpr):
            return self._builds_string(node.expr1) or self._builds_string(node.expr2)
        return False

    def _suspect_pieces(self, node) -> bool:
        """A built name whose known pieces hold an underscore or a character code (``'%c'``, ``{:c}``)."""
        n = self.n
        for sub in [node] + list(node.find_all(n.Node)):
            values = []
            if isinstance(sub, n.Const) and isinstance(sub.value, str):
                values = [sub.value]
            elif isinstance(sub, n.Name):
                values = [v for v in self.values.get(sub.name, ()) if isinstance(v, str)]
                if sub.name in self.built:
                    return True
            elif isinstance(sub, n.Call) and isinstance(sub.node, n.Name) and sub.node.name == "dict":
                values = [kw.key for kw in sub.kwargs]
            for v in values:
                if "_" in v or "%c" in v or ":c}" in v:
                    return True
        return False

    # -- judging ----------------------------------------------------------------------------------
    def run(self) -> List[str]:
        n = self.n
        for node in self.order:
            if isinstance(node, n.Getattr):
                self._name(node.attr, node.node, attribute=True)
            elif isinstance(node, n.NSRef):
                self._name(node.attr, None, attribute=True, root=node.name)
            elif isinstance(node, n.Getitem):
                self._key(node.arg, node.node, "[...]")
            elif isinstance(node, n.Filter):
                self._filter(node)
            elif isinstance(node, n.Call):
                self._call(node)
            elif isinstance(node, n.Name) and node.ctx == "load":
                self._free_name(node)
            elif isinstance(node, n.Const) and isinstance(node.value, str):
                self._literal(node.value)
            elif isinstance(node, (n.Concat, n.Add)):
                for part in (node.nodes if isinstance(node, n.Concat) else (node.left, node.right)):
                    if self._is_object(part):
                        self.out.append(f"{self._describe(part)} turned into text (spells names from an object's text)")
        # accesses of dunders first, then other accesses: they name the escape best
        return sorted(self.out, key=lambda c: (" via " not in c, not c.startswith("__")))

    def _root(self, node) -> str:
        """What an access chain starts from, for messages (``lipsum``, ``a string literal``)."""
        n = self.n
        for _ in range(200):
            if isinstance(node, (n.Getattr, n.Getitem, n.Filter, n.Call, n.Test)) and node.node is not None:
                node = node.node
            else:
                break
        if isinstance(node, n.Name):
            return node.name
        if isinstance(node, n.Const):
            return "a string literal" if isinstance(node.value, str) else "a literal"
        if isinstance(node, (n.List, n.Tuple, n.Dict)):
            return "a literal"
        return "an expression"

    def _name(self, name, base, attribute: bool, how: str = "", root: Optional[str] = None) -> bool:
        """Report a name that leads into the interpreter; True when reported.

        ``attribute``: the name is looked up as an attribute (process and import names count too),
        not only as a key (``x['system']`` is data). ``how`` says how it was reached, for messages.
        """
        if not isinstance(name, str):
            return False
        parts = name.split(".") if how.startswith("|") else [name]  # attribute= paths are dotted
        for part in parts:
            # one leading underscore is allowed: Jinja falls back to the dict item (``tool._meta``)
            bad = part.startswith("__") or bool(_MANGLED.match(part)) or part in _INTERNAL_ATTRS
            if attribute and not bad:
                bad = part in _EXEC_ATTRS or bool(_SPAWN.match(part))
            if bad:
                where = root if root is not None else (self._root(base) if base is not None else "an object")
                self.out.append(f"{part} via {how} on {where}" if how else f"{part} via {where}")
                return True
        return False

    def _key(self, expr, base, how: str) -> None:
        """A subscript key or a filter's attribute name: judged as what it folds to; a name built at
        render time from pieces that cannot be folded is reported as such."""
        subscript = how == "[...]"
        got = self.fold(expr)
        key = self._binding(expr)
        if got is None and key in self.partial:
            # some values of the variable are known: judge them, then the unknown rest as below
            for v in self.values.get(key, ()):
                if isinstance(v, str) and self._name(v, base, attribute=not subscript, how=how):
                    return
        if got is not None:
            for v in got:
                if isinstance(v, str) and self._name(v, base, attribute=not subscript, how=how):
                    return
            return
        if subscript:
            if self._builds_string(expr) and self._suspect_pieces(expr):
                self.out.append(f"item name built at render time from underscore pieces ([...] on {self._root(base)})")
            elif self._is_literal(base) and not self._numeric(expr):
                # a lookup on a literal falls back to getattr: the name comes from a message at render time
                self.out.append(f"item lookup on {self._root(base)} with a key chosen at render time")
        elif how == "|attr" or self._builds_string(expr):
            # benign templates never compute the attribute a filter reads
            self.out.append(f"attribute name built at render time ({how} on {self._root(base)})")

    def _is_literal(self, node) -> bool:
        """A string, or an empty list/tuple/dict, written in the template (data never lives there)."""
        n = self.n
        if isinstance(node, n.Const):
            return isinstance(node.value, str)
        return isinstance(node, (n.List, n.Tuple, n.Dict)) and not node.items

    def _numeric(self, node) -> bool:
        """An index expression: arithmetic, a number, a slice or a loop counter."""
        n = self.n
        if isinstance(node, (n.Add, n.Sub, n.Mul, n.Div, n.FloorDiv, n.Mod, n.Pow, n.Neg, n.Pos, n.Slice)):
            return True
        if isinstance(node, n.Const):
            return not isinstance(node.value, str)
        return isinstance(node, n.Getattr) and isinstance(node.node, n.Name) and node.node.name == "loop"

    def _filter(self, node) -> None:
        name = node.name
        if name == "attr":
            if node.args:
                self._key(node.args[0], node.node, "|attr")
            return
        if name in _ATTRIBUTE_FILTERS:
            for kw in node.kwargs:
                if kw.key == "attribute":
                    self._key(kw.value, node.node, f"|{name}(attribute=)")
            if name in _FIRST_ARG_IS_ATTRIBUTE and node.args:
                self._key(node.args[0], node.node, f"|{name}")
            if name == "map" and len(node.args) >= 2:
                first = self.fold(node.args[0])
                if first and "attr" in first:
                    self._key(node.args[1], node.node, "|map('attr')")
        if name == "string" and node.node is not None and self._is_object(node.node):
            self.out.append(f"|string of {self._describe(node.node)} (spells names from an object's text)")

    def _is_object(self, node) -> bool:
        """A Jinja object or iterator (not data): its text is ``<function ...>`` / ``<generator ...>``."""
        n = self.n
        if isinstance(node, n.Name):
            return node.name in _GADGETS and node.name not in self.bound
        if isinstance(node, n.Filter):
            return node.name in _OBJECT_FILTERS
        return False

    def _describe(self, node) -> str:
        n = self.n
        if isinstance(node, n.Name):
            return node.name
        if isinstance(node, n.Filter):
            return f"|{node.name}"
        return "an object"

    def _call(self, node) -> None:
        """``'{0.__class__}'.format(x)``: str.format walks attributes named in its fields."""
        n = self.n
        if isinstance(node.node, n.Getattr) and node.node.attr in ("format", "format_map"):
            fmts = self.fold(node.node.node)
            for s in fmts or ():
                if isinstance(s, str):
                    for field in _format_fields(s):
                        if self._name(field, node.node.node, attribute=True, how="str.format"):
                            break

    def _free_name(self, node) -> None:
        name = node.name
        if name in self.bound:
            return
        parent = self.parent.get(id(node))
        if name in _EXEC_NAMES:
            self.out.append(f"{name} (Python machinery named in template code)")
        elif name in _WEB_NAMES:
            self.out.append(f"{name} (web-app object that template-injection payloads probe)")
        elif name in _GADGETS:
            n = self.n
            called = isinstance(parent, n.Call) and parent.node is node
            tested = isinstance(parent, n.Test) and parent.node is node
            if name == "self" or not (called or tested):
                self.out.append(f"{name} used as an object (Jinja global whose attributes reach Python)")

    def _literal(self, value: str) -> None:
        """A string literal that is a bare dunder, or spells an attribute path into one."""
        if len(value) > _MAX_TEXT:
            value = value[:_MAX_TEXT]
        if _DUNDER_LITERAL.match(value):
            self.out.append(f"{value.strip()} (dunder name as a string literal)")
        elif _CODE_LITERAL.search(value):
            self.out.append(f"string literal {value[:60]!r} (spells an access to Python internals)")


# -- constant folding helpers ---------------------------------------------------------------------
def _small(v) -> bool:
    """A value small enough to carry through folding."""
    if isinstance(v, str):
        return len(v) <= _MAX_TEXT
    if isinstance(v, tuple):
        return len(v) <= 256 and all(_small(x) for x in v)
    return v is None or isinstance(v, (int, float, bool))


def _text(v) -> str:
    """Jinja's ``~``: everything becomes its text (booleans and None as Python prints them)."""
    return v if isinstance(v, str) else str(v)


def _add(a, b):
    if isinstance(a, (str, tuple)) and type(a) is type(b):
        return a + b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a + b
    return None


def _mul(a, b):
    if isinstance(a, int) and isinstance(b, (str, tuple)):
        a, b = b, a
    if isinstance(a, (str, tuple)) and isinstance(b, int) and not isinstance(b, bool):
        return a * b if 0 <= b and len(a) * b <= _MAX_TEXT else None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a) < 1e9 and abs(b) < 1e9:
        return a * b
    return None


_PERCENT_SAFE = re.compile(r"%[-#0 +]*\d{0,3}(?:\.\d{0,3})?[diouxXeEfFgGcrsa%]")


def _percent(fmt, args):
    """``'%c%c' % (95, 95)`` (and ``|format``), only for short, plain conversions."""
    if not isinstance(fmt, str):
        return None
    if "*" in fmt or "(" in fmt or re.search(r"%[^%]*\d{4}", fmt):
        return None
    if fmt.count("%") > 64:
        return None
    out = fmt % args
    return out if len(out) <= _MAX_TEXT else None


def _format_filter(fmt, *args):
    return _percent(fmt, tuple(args))


def _join(seq, sep=""):
    if isinstance(seq, str):
        seq = tuple(seq)
    if not isinstance(seq, tuple) or not isinstance(sep, str):
        return None
    return sep.join(_text(x) for x in seq)


def _replace(s, old, new, count=-1):
    if not all(isinstance(x, str) for x in (s, old, new)) or len(s) * (len(new) + 1) > 64 * _MAX_TEXT:
        return None
    return s.replace(old, new, count)


def _seq(v):
    return tuple(v) if isinstance(v, (str, tuple)) else None


_FILTERS = {
    "join": _join,
    "lower": lambda s: s.lower() if isinstance(s, str) else None,
    "upper": lambda s: s.upper() if isinstance(s, str) else None,
    "capitalize": lambda s: s.capitalize() if isinstance(s, str) else None,
    "title": lambda s: s.title() if isinstance(s, str) else None,
    "trim": lambda s, chars=None: s.strip(chars) if isinstance(s, str) else None,
    "reverse": lambda s: s[::-1] if isinstance(s, (str, tuple)) else None,
    "replace": _replace,
    "format": _format_filter,
    "string": _text,
    "safe": lambda s: s,
    "list": _seq,
    "first": lambda s: s[0] if isinstance(s, (str, tuple)) and s else None,
    "last": lambda s: s[-1] if isinstance(s, (str, tuple)) and s else None,
}
_STR_METHODS = frozenset(["format", "join", "lower", "upper", "replace", "strip", "lstrip", "rstrip", "title",
                          "capitalize", "swapcase", "casefold", "removeprefix", "removesuffix"])
_FIELD = re.compile(r"\{([^{}]*)\}")


def _safe_format(fmt: str, args) -> bool:
    """str.format is folded only for plain positional fields with short specs (no attribute walks, no huge widths)."""
    for field in _FIELD.findall(fmt):
        name = field.split(":", 1)[0].split("!", 1)[0]
        if name and not name.isdigit():
            return False
        if re.search(r"\d{4}", field):
            return False
    return all(isinstance(a, (str, int, float)) for a in args)


def _format_fields(fmt: str) -> List[str]:
    """Attribute and item names a str.format string walks (``{0.__class__}`` -> ``__class__``)."""
    out = []
    for field in _FIELD.findall(fmt):
        name = field.split(":", 1)[0].split("!", 1)[0]
        for part in re.split(r"[.\[\]]", name)[1:]:
            part = part.strip("'\" ")
            if part:
                out.append(part)
    return out


# -- text fallback --------------------------------------------------------------------------------
_TEXT_RULES = [
    (re.compile(r"__[A-Za-z]\w*?__"), "{0} in template code"),
    (re.compile(r"\.\s*_[A-Za-z0-9]+__"), "private attribute access {0!r}"),
    (re.compile(r"\|\s*attr\b"), "|attr filter"),
    (re.compile(r"\b(?:lipsum|cycler|joiner)\b(?!\s*\()"), "{0} used as an object"),
    (re.compile(r"\b(?:self|request|config|url_for|get_flashed_messages)\s*[.\[|]"), "{0!r} (object probed by injection payloads)"),
    (re.compile(r"\b(?:os|sys|subprocess|builtins|importlib)\s*\."), "{0!r} (Python module in template code)"),
    (re.compile(r"\b(?:popen|eval|exec|system|check_output|getoutput|import_module)\s*\("), "{0!r} (code execution call)"),
    (re.compile(r"\.\s*mro\b"), "{0!r} (class hierarchy walk)"),
    (re.compile(r"\\(?:x5[fF]|u005[fF]|U0000005[fF]|137|N\{LOW LINE\})"), "escaped underscore {0!r}"),
    (re.compile(r"%c|\{:c\}"), "character formatting {0!r} (builds names from numbers)"),
    (re.compile(r"\bdict\s*\(\s*_"), "dict(...) keys starting with an underscore"),
    (re.compile(r"(['\"])(?:__\w*|\w*__)\1"), "string literal {0} (a piece of a dunder name)"),
    (re.compile(r"(?:''|\"\"|\(\)|\[\])\s*(?:\[|\|\s*attr\b)"), "lookup on an empty literal {0!r}"),
]


def _code_parts(source: str) -> List[str]:
    """The insides of ``{{ }}`` and ``{% %}`` (comments skipped); linear, whatever the input."""
    out, pos, size = [], 0, len(source)
    while pos < size:
        i = source.find("{", pos)
        if i < 0 or i + 1 >= size:
            break
        kind = source[i + 1]
        if kind not in "{%#":
            pos = i + 1
            continue
        closer = {"{": "}}", "%": "%}", "#": "#}"}[kind]
        j = source.find(closer, i + 2)
        stop = size if j < 0 else j
        if kind != "#":
            out.append(source[i + 2:stop])
        pos = stop + 2
    return out


def _text_constructs(source: str) -> List[str]:
    """The textual check: code parts matched against known escape shapes."""
    out = []
    for part in _code_parts(source):
        for rule, label in _TEXT_RULES:
            m = rule.search(part)
            if m:
                out.append(label.format(m.group(0)[:40]))
    return out
