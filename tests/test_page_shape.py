"""The pages' shape, read from their source: a page is a flat script (its helpers live in ui/ modules, where they
can be imported and tested), and every session-state and widget key is named in ui/keys.py."""

from __future__ import annotations

import ast
import importlib

import pytest

from tests.helpers import ROOT

PAGES = [ROOT / "streamlit_app.py", *sorted((ROOT / "pages").glob("*.py"))]
UI = sorted(path for path in (ROOT / "ui").glob("*.py") if path.name not in ("__init__.py", "keys.py"))


def functions_in_with_blocks(tree: ast.AST) -> list[str]:
    found = []

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if inside and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(child.name)
            visit(child, inside or isinstance(child, (ast.With, ast.AsyncWith)))

    visit(tree, False)
    return found


def literal_keys(tree: ast.AST) -> list[str]:
    """Keys written as text where they are used: key="..." / key=f"..." arguments, st.session_state["..."],
    st.session_state.get("...") / pop / setdefault, and st.form("...")."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "key" and isinstance(keyword.value, (ast.Constant, ast.JoinedStr)):
                    found.append(ast.unparse(keyword.value))
            func = node.func
            literal = node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))
            if isinstance(func, ast.Attribute) and literal:
                target = ast.unparse(func.value)
                if (target.endswith("session_state") and func.attr in ("get", "pop", "setdefault")) \
                        or (target == "st" and func.attr == "form"):
                    found.append(ast.unparse(node.args[0]))
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("session_state") \
                and isinstance(node.slice, (ast.Constant, ast.JoinedStr)):
            found.append(ast.unparse(node.slice))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_a_page_defines_no_function_inside_its_with_blocks(page):
    assert functions_in_with_blocks(ast.parse(page.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("source", PAGES + UI, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_session_and_widget_keys_are_named_in_ui_keys(source):
    assert literal_keys(ast.parse(source.read_text(encoding="utf-8"))) == []


def test_the_checks_see_what_they_look_for():
    page = ast.parse("with frame.page(x):\n    def helper():\n        pass\n    st.session_state['a'] = 1\n"
                     "    st.text_input('b', key=f'c.{x}')\n    st.session_state.get('d')\n    st.form('e')\n")
    assert functions_in_with_blocks(page) == ["helper"]
    assert sorted(literal_keys(page)) == ["'a'", "'d'", "'e'", "f'c.{x}'"]


@pytest.mark.parametrize("module", [path.stem for path in UI], ids=str)
def test_every_ui_module_imports_on_its_own(module):
    assert importlib.import_module(f"ui.{module}").__doc__



def grid_calls(tree: ast.AST) -> list[str]:
    """Calls that draw the interactive data grid (st.dataframe / x.dataframe / st.table) directly."""
    return [ast.unparse(node.func) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("dataframe", "table") and ast.unparse(node.func.value) != "display"]


@pytest.mark.parametrize("source", [p for p in PAGES + UI if p.name != "display.py"],
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_table_goes_through_display_table(source):
    """display.table draws a table as HTML in large type in presenter mode (the grid's canvas text stays small)."""
    assert grid_calls(ast.parse(source.read_text(encoding="utf-8"))) == []
