"""No user text reaches the page as Markdown: `plain` shows it as itself, and every text the page
renders is a literal, a number or `plain(...)`; only a plain SVG drawing is shown inline."""

from __future__ import annotations

import pytest
from conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


NASTY_NAMES = [
    "[click here](https:evil.example).jpg",
    "![pixel](https://evil.example/p.png).png",
    "<img src=x onerror=alert(1)>.png",
    "<a href='https://evil.example'>x</a>.jpg",
    "**bold** _it_ `code` ~~gone~~.jpg",
    "# heading.jpg",
    "bad\nname.jpg",
    ":red[alert] :material/home: $x^2$.jpg",
    "https://evil.example/a.jpg",
    "&amp; &#x41; &lt;b&gt;.jpg",
    "\\[pre-escaped](https://evil.example).jpg",
    "1. list\n> quote\n| a | b |",
    "[ref]: https://evil.example\n[ref]",
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_plain_shows_user_text_as_itself(name):
    markdown_it = pytest.importorskip("markdown_it")
    from facemask.app.text import plain
    from facemask.core.errors import one_line

    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    html = md.render(plain(name))
    for tag in ("<a", "<img", "<em", "<strong", "<code", "<h1", "<s>", "<del", "<ol", "<blockquote", "<table"):
        assert tag not in html, html
    assert html.startswith("<p>") and html.endswith("</p>\n") and html.count("<p>") == 1, html
    assert __import__("html").unescape(html[3:-5]) == one_line(name)


MARKDOWN_CALLS = {  # Streamlit calls whose text is rendered as Markdown: which positional arguments are text
    **dict.fromkeys(
        ["markdown", "write", "error", "warning", "info", "success", "caption", "title", "header", "subheader"], (0,)
    ),
    **dict.fromkeys(["toast", "spinner", "metric", "expander", "tabs", "download_button", "button"], (0,)),
    **dict.fromkeys(["selectbox", "slider", "number_input", "file_uploader", "checkbox", "radio", "text_input"], (0,)),
    "image": (),
    "progress": (),
}


TEXT_KEYWORDS = {"caption", "text", "help", "label", "body"}


NUMERIC_FORMATS = tuple("dfgeEn%xXob")


def _unsafe_text(node) -> list[str]:
    """What in a text argument could carry user text unescaped: anything but literals, `plain(...)`
    and numbers formatted as numbers (`{n:d}`, `{x:g}`: a string there raises instead of rendering)."""
    import ast

    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("plain", "own_svg"):
        return []
    if isinstance(node, (ast.List, ast.Tuple)):
        return [bad for element in node.elts for bad in _unsafe_text(element)]
    if isinstance(node, ast.ListComp):
        return _unsafe_text(node.elt)
    if isinstance(node, ast.JoinedStr):
        bad = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                continue
            spec = ast.unparse(part.format_spec) if part.format_spec is not None else ""
            if _unsafe_text(part.value) and not spec.rstrip("'\"").endswith(NUMERIC_FORMATS):
                bad.append(ast.unparse(part))
        return bad
    return [ast.unparse(node)]


def test_the_page_shows_only_a_plain_svg_drawing_inline():
    from facemask.app.text import own_svg

    drawn = '<svg xmlns="http://www.w3.org/2000/svg">\n <g id="people"><path d="M 0 0 L 1 1"/></g>\n</svg>'
    assert own_svg(
        drawn
    ) == '<svg style="width:100%;height:auto" xmlns="http://www.w3.org/2000/svg"> <g id="people">' + (
        '<path d="M 0 0 L 1 1"/></g> </svg>'
    )
    for active in ("<script>alert(1)</script>", '<g onload="alert(1)"/>', '<a href="https://evil.example">x</a>'):
        with pytest.raises(ValueError, match="not a plain SVG"):
            own_svg(drawn.replace("<g ", active + "<g ", 1))
    with pytest.raises(ValueError):
        own_svg("<div>not a drawing</div>")


def test_every_text_the_page_renders_is_a_literal_a_number_or_plain():
    import ast

    checked, unsafe = 0, []
    for path in sorted((REPO / "facemask" / "app").glob("*.py")):  # every module of the page, wherever it renders
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            positions = MARKDOWN_CALLS.get(node.func.attr)
            if positions is None:
                continue
            texts = [node.args[i] for i in positions if i < len(node.args)]
            texts += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
            for text in texts:
                checked += 1
                unsafe += [f"{path.name} line {node.lineno}: {bad}" for bad in _unsafe_text(text)]
    assert checked >= 20, f"only {checked} texts found: has the page moved out of facemask/app/?"
    assert not unsafe, "text shown as Markdown without plain(): " + "; ".join(unsafe)
