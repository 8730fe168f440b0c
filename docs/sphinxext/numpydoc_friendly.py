"""Sphinx extension: render skgates' plain-text docstring conventions through numpydoc.

Docstrings are written for ``help()`` as much as for the site. Before numpydoc reads one:

- PyTorch's ``Shape`` section (not a numpydoc section; numpydoc would drop it) becomes the
  start of the ``Notes`` section;
- a bare name with a trailing underscore (``n_features_in_``, ``scree_``) is a hyperlink
  reference in reStructuredText, an error in the build: it is set as code. Names in
  backquotes, the names of parameters and attributes, literal blocks and Examples are left
  as they are; a star in a parameter type (``Tensor of shape (*, n)``) is escaped.

Class pages list inherited members (``:inherited-members:``) so that ``predict`` of a
shared base class shows, but of the members scikit-learn and PyTorch define only the
scikit-learn API a user calls on an estimator (``transform``, ``get_support``, ``score``...,
their ``:ref:`` links to scikit-learn's guide turned into plain text); the others
(``set_output``, the ``set_*_request`` methods of metadata routing, ``torch.nn.Module``'s)
are theirs to document.
"""

import re
import warnings

_HEADER_SECTIONS = ("Parameters", "Other Parameters", "Attributes", "Returns", "Yields",
                    "Raises", "Warns", "See Also")
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w.~*`|])([A-Za-z_]\w*_)(?![\w`])")
_QUOTED = re.compile(r"(``.*?``|`[^`]*`)")
_LONE_STAR = re.compile(r"(?<![\\*])\*(?!\*)")
#: scikit-learn methods documented on skgates' class pages.
SKLEARN_API = {"fit_transform", "get_feature_names_out", "get_params", "get_support",
               "inverse_transform", "score", "set_params", "transform"}
_FOREIGN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _is_underline(line):
    return len(line.strip()) >= 3 and set(line.strip()) == {"-"}


def _sections(lines):
    """``(name, header_line, end)`` of every numpydoc section."""
    starts = [(lines[i].strip(), i) for i in range(len(lines) - 1)
              if lines[i].strip() and not lines[i].startswith(" ") and _is_underline(lines[i + 1])]
    ends = [start for _, start in starts[1:]] + [len(lines)]
    return [(name, start, end) for (name, start), end in zip(starts, ends)]


def shape_into_notes(lines):
    """Move a ``Shape`` section to the start of ``Notes`` (made if missing)."""
    sections = {name: (start, end) for name, start, end in _sections(lines)}
    if "Shape" not in sections:
        return lines
    start, end = sections["Shape"]
    shape = ["**Shape**", "", *lines[start + 2:end]]
    rest = lines[:start] + lines[end:]
    notes = {name: start for name, start, _ in _sections(rest)}.get("Notes")
    if notes is None:
        return rest + ["", "Notes", "-----", *shape]
    return rest[:notes + 2] + shape + [""] + rest[notes + 2:]


def quote_trailing_underscores(text):
    """Set bare ``name_`` words of ``text`` as code, outside backquoted spans."""
    parts = _QUOTED.split(text)
    return "".join(part if i % 2 else _TRAILING_UNDERSCORE.sub(r"``\1``", part)
                   for i, part in enumerate(parts))


def escape_names(lines):
    """Apply :func:`quote_trailing_underscores` where reStructuredText reads the text."""
    lines = list(lines)
    section, literal_indent = None, None
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if i + 1 < len(lines) and line.strip() and _is_underline(lines[i + 1]):
            section = line.strip()
        if literal_indent is not None:
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        if line.rstrip().endswith("::"):
            literal_indent = indent
        if section == "Examples" or _is_underline(line) or line.lstrip().startswith(">>>"):
            continue
        if section in _HEADER_SECTIONS and indent == 0:
            names, sep, kind = line.partition(" : ")
            if sep:
                lines[i] = names + sep + quote_trailing_underscores(_LONE_STAR.sub(r"\\*", kind))
        else:
            lines[i] = quote_trailing_underscores(line)
    return lines


def _process_docstring(app, what, name, obj, options, lines):
    if _defined_in(obj).startswith("sklearn"):  # links into scikit-learn's own guide
        lines[:] = [_FOREIGN_ROLE.sub(r"\1", line) for line in lines]
    lines[:] = escape_names(shape_into_notes(list(lines)))


def _defined_in(obj):
    """The module that defines a member (a property's getter's module for a property)."""
    target = getattr(obj, "fget", obj)
    return getattr(target, "__module__", None) or ""


def _skip_member(app, what, name, obj, skip, options):
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if what == "class" and (callable(obj) or isinstance(obj, property)):
        module = _defined_in(obj)
        if module.startswith("sklearn") and name in SKLEARN_API:
            return None
        if module and not module.startswith("skgates"):
            return True
    return None


def setup(app):
    # numpydoc reads raw docstrings for signatures too: the Shape sections it does not know
    # are rendered through _process_docstring.
    warnings.filterwarnings("ignore", category=UserWarning, message="Unknown section Shape")
    app.connect("autodoc-process-docstring", _process_docstring, priority=100)
    app.connect("autodoc-skip-member", _skip_member)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
