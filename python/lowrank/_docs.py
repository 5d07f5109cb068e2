"""Writes every parameter of an estimator and its default into the class
docstring, read from ``__init__`` itself so that the two cannot drift apart
(help(), editors and IDE hovers show the docstring)."""
from __future__ import annotations

import inspect
import textwrap


def _parameters(cls):
    sig = inspect.signature(cls.__init__)
    return [p for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def document_defaults(cls):
    """Prefixes ``cls.__doc__`` with the call signature and appends a
    "Parameters and defaults" section, one ``name = default`` per line."""
    params = _parameters(cls)
    shown = [p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in params]
    call = textwrap.fill(f"{cls.__name__}({', '.join(shown)})", width=100, subsequent_indent="    ",
                         break_on_hyphens=False)
    width = max((len(p.name) for p in params), default=0)
    lines = [f"{p.name.ljust(width)} = {'(required)' if p.default is p.empty else repr(p.default)}" for p in params]
    body = inspect.cleandoc(cls.__doc__ or "")
    cls.__doc__ = f"{call}\n\n{body}\n\nParameters and defaults\n-----------------------\n" + "\n".join(lines) + "\n"
    return cls
