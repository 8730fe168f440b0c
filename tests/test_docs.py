"""The committed documentation follows the code."""

import importlib.util
import pathlib

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def test_api_reference_matches_the_docstrings():
    spec = importlib.util.spec_from_file_location("make_api", DOCS / "make_api.py")
    make_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_api)
    assert (DOCS / "api.md").read_text() == make_api.render(), (
        "docs/api.md is stale: run `python docs/make_api.py` and commit the result."
    )


def test_every_docs_link_in_the_index_exists():
    index = (DOCS / "index.md").read_text()
    import re
    for target in re.findall(r"\]\(([^)#]+\.md)\)", index):
        assert (DOCS / target).exists(), f"docs/index.md links to missing {target}"
