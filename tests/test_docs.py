"""The documentation builds, warning-free, from the code, the guide pages and the examples.

``test_docs_build`` runs ``sphinx-build -W --keep-going -b html`` on a copy of ``docs/`` and
``examples/`` (the build writes generated pages next to its sources): it runs every gallery
example, so it takes about a minute. It is skipped when the documentation tools
(``pip install skgates[docs]``) are missing; the ``test`` extra installs them, so it runs in CI.
"""

import ast
import importlib
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
DOC_TOOLS = ("sphinx", "numpydoc", "myst_parser", "pydata_sphinx_theme", "sphinx_gallery",
             "matplotlib")


def _gallery_examples():
    return sorted(EXAMPLES.glob("plot_*.py"))


def _public_names():
    """``module.name`` of everything the API reference must list."""
    import skgates
    import skgates.datasets
    import skgates.nn
    import skgates.plotting

    names = []
    for module in (skgates, skgates.plotting, skgates.nn):
        names += [f"{module.__name__}.{name}" for name in module.__all__]
    names += [f"skgates.datasets.{name}" for name, obj in vars(skgates.datasets).items()
              if callable(obj) and not name.startswith("_")
              and getattr(obj, "__module__", None) == "skgates.datasets"]
    return names


def test_every_example_is_a_gallery_example():
    """A docstring whose first line is a title with an underline as long, and a figure."""
    assert _gallery_examples(), "no examples/plot_*.py"
    for path in _gallery_examples():
        source = path.read_text()
        doc = ast.get_docstring(ast.parse(source), clean=False)
        assert doc, f"{path.name} has no module docstring (sphinx-gallery's title and text)"
        lines = doc.strip("\n").splitlines()
        assert len(lines) >= 2 and set(lines[1]) == {"="} and len(lines[1]) == len(lines[0]), (
            f"{path.name}: the docstring must start with a title underlined by '=' of its length"
        )
        assert "Display" in source or "plt." in source, f"{path.name} draws no figure"


def test_every_relative_link_of_the_guide_exists():
    for page in DOCS.rglob("*.md"):
        if "_build" in page.parts:
            continue
        for target in re.findall(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.name} links to missing {target}"


def test_docs_build(tmp_path):
    for tool in DOC_TOOLS:
        pytest.importorskip(tool, reason=f"{tool} is needed to build the docs: "
                                         "pip install skgates[docs]")
    for folder in ("docs", "examples"):  # the build writes api.rst, generated/, auto_examples/
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("_build", "auto_examples", "generated",
                                                      "gen_modules", "api.rst", "__pycache__"))
    out = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(tmp_path / "doctrees"), str(tmp_path / "docs"), str(out)]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"sphinx-build failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}"

    for page in ("index", "user_guide", "visualizations", "api", "benchmarks",
                 "auto_examples/index"):
        assert (out / f"{page}.html").exists(), f"{page}.html was not built"
    api = (out / "api.html").read_text()
    for name in _public_names():
        assert (out / "generated" / f"{name}.html").exists(), f"no API page for {name}"
        assert f"generated/{name}.html" in api, f"the API reference does not link {name}"
    for example in _gallery_examples():
        assert (out / "auto_examples" / f"{example.stem}.html").exists()
        assert (out / "_images" / f"sphx_glr_{example.stem}_001.png").exists(), (
            f"{example.name} drew no figure in the gallery"
        )
    for optional in ("stability", "persistence"):  # written by others; in the guide once they exist
        if (DOCS / f"{optional}.md").exists():
            assert f'href="{optional}.html"' in (out / "user_guide.html").read_text()


def test_api_page_lists_every_public_name():
    """The API page is written from ``__all__``, so a new public name appears without edits."""
    spec = importlib.util.spec_from_file_location("api_page", DOCS / "sphinxext" / "api_page.py")
    api_page = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api_page)
    listed = set(re.findall(r"^   (\w+)$", api_page.render(), flags=re.MULTILINE))
    for name in _public_names():
        assert name.rsplit(".", 1)[1] in listed, f"{name} is missing from the API page"


def test_docstring_conventions_render():
    """Shape sections join Notes; bare ``name_`` words become code outside names and Examples."""
    spec = importlib.util.spec_from_file_location(
        "numpydoc_friendly", DOCS / "sphinxext" / "numpydoc_friendly.py")
    friendly = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(friendly)
    doc = ["Summary of scree_ and ``net_``.", "", "Parameters", "----------",
           "x : Tensor of shape (*, n_features_in_)", "    Rows, see :class:`Foo_`.", "",
           "Attributes", "----------", "coef_, scree_", "    Learned.", "",
           "Shape", "-----", "- Input: ``(*)``", "", "Examples", "--------", ">>> est.scree_"]
    out = friendly.escape_names(friendly.shape_into_notes(doc))
    assert out[0] == "Summary of ``scree_`` and ``net_``."
    assert out[4] == r"x : Tensor of shape (\*, ``n_features_in_``)"
    assert out[5] == "    Rows, see :class:`Foo_`."
    assert "coef_, scree_" in out and ">>> est.scree_" in out
    notes = out.index("Notes")
    assert out[notes + 2:notes + 5] == ["**Shape**", "", "- Input: ``(*)``"]
    assert "Shape" not in out
