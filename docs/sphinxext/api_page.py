"""The API reference page, ``api.rst``, written from the public modules' ``__all__``.

One section per module, one autosummary table per kind (classes, functions); each name
links to a page autosummary generates from its docstring. A name added to ``__all__``
appears at the next build, with no edit here.
"""

import importlib
import inspect

#: (section title, module), in the order of the page.
SECTIONS = [
    ("Estimators and functions: ``skgates``", "skgates"),
    ("Plotting: ``skgates.plotting``", "skgates.plotting"),
    ("PyTorch modules: ``skgates.nn``", "skgates.nn"),
    ("Data sets: ``skgates.datasets``", "skgates.datasets"),
]


def public_names(module):
    """``module.__all__``, or the public functions and classes defined in ``module``."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, obj in vars(module).items()
                 if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
                 and obj.__module__ == module.__name__]
    return sorted(names, key=str.lower)


def _is_exception(obj):
    return inspect.isclass(obj) and issubclass(obj, BaseException)


def _is_plain_class(obj):
    return inspect.isclass(obj) and not _is_exception(obj)


def _summary(module):
    """The first paragraph of the module's docstring."""
    return inspect.cleandoc(module.__doc__ or "").split("\n\n")[0].replace("\n", " ")


def render():
    """The text of ``api.rst``."""
    lines = [".. This page is written by docs/sphinxext/api_page.py from the modules' __all__;",
             "   do not edit it.", "", "API reference", "=============", "",
             "Every public name of skgates, by module; each links to its documentation, "
             "generated from its docstring.", ""]
    for title, module_name in SECTIONS:
        module = importlib.import_module(module_name)
        names = public_names(module)
        lines += [title, "-" * len(title), "", _summary(module), "",
                  f".. currentmodule:: {module_name}", ""]
        for kind, template, test in (("Classes", "class.rst", _is_plain_class),
                                     ("Functions", "function.rst", inspect.isroutine),
                                     ("Exceptions", "class.rst", _is_exception)):
            chosen = [name for name in names if test(getattr(module, name))]
            if chosen:
                lines += [f".. rubric:: {kind}", "", ".. autosummary::",
                          "   :toctree: generated/", f"   :template: autosummary/{template}", "",
                          *(f"   {name}" for name in chosen), ""]
    return "\n".join(lines)


def write(path):
    """Write ``render()`` to ``path`` unless it already holds it (no needless rebuild)."""
    text = render()
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
