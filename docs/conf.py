"""Sphinx configuration of the skgates documentation.

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (the test
``tests/test_docs.py`` does, in a copy). The user guide is the markdown pages of this
folder (myst-parser), the API reference is generated from ``__all__`` and the docstrings
(autosummary + numpydoc), and the gallery runs every ``examples/plot_*.py``
(sphinx-gallery).
"""

import pathlib
import sys
import warnings

import torch

import skgates

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))  # api_page, gallery_order, numpydoc_friendly

import api_page  # noqa: E402

# ---------------------------------------------------------------- project
project = "skgates"
author = "the skgates developers"
copyright = "the skgates developers, BSD-3-Clause"
release = version = skgates.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "numpydoc_friendly",  # sphinxext/: Shape sections, names ending in "_"
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.md5", "auto_examples/*.json",
                    "auto_examples/*.zip"]

# ------------------------------------------------------------ user guide
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links resolve

# Pages other people are writing: in the user guide's table of contents once they exist.
OPTIONAL_GUIDE_PAGES = ["stability", "persistence", "scaling", "export"]
OPTIONAL_MARKER = "% optional guide pages are added here by conf.py\n"


def _add_optional_pages(app, docname, source):
    if docname == "user_guide":
        present = "".join(f"{page}\n" for page in OPTIONAL_GUIDE_PAGES
                          if (DOCS / f"{page}.md").exists())
        source[0] = source[0].replace(OPTIONAL_MARKER, present)


# --------------------------------------------------------- API reference
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
autodoc_inherit_docstrings = False  # an override without a docstring is not documented again
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
api_page.write(DOCS / "api.rst")  # from __all__, before autosummary reads it

# --------------------------------------------------------------- gallery
# Examples run in this process: one torch thread, as their timings in the text assume.
torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # only plot_*.py files are gallery examples (other scripts in examples/ are left out)
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(^|[/\\])(?!plot_)[^/\\]*\.py$",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("skgates",),
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
}

# ------------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = f"skgates {version}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],  # API pages remove it (long signatures)
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}


def setup(app):
    app.connect("source-read", _add_optional_pages)

