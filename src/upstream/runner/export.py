"""Executed notebook → self-contained, offline HTML: leadership pages without code, analyst pages with."""
from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "reporting" / "templates"
NOTEBOOK_TEMPLATE = TEMPLATES / "upstream_notebook.html.j2"


def export_html(notebook_path: Path, html_path: Path, *, with_code: bool, title: str,
                agent_links: dict[str, str] | None = None) -> Path:
    """Export an executed notebook to self-contained, offline HTML.

    Leadership pages (``with_code=False``) hide code cells and prompts; cells tagged
    ``remove-cell`` are dropped and outputs of cells tagged ``remove-output`` hidden. The
    analyst page of a failed run (``with_code=True``) keeps code and tracebacks. ``agent_links``
    (label → href of the agent's coaching page): table cells holding exactly a label link to the page.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {"remove-cell", "remove_cell"}
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output", "remove_output"}
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
    exporter = HTMLExporter(
        config=config,
        template_name="lab",
        template_file=str(NOTEBOOK_TEMPLATE),
        exclude_input=not with_code,
        exclude_input_prompt=not with_code,
        exclude_output_prompt=not with_code,
        embed_images=True,
        theme="light",
    )
    nb = nbformat.read(str(notebook_path), as_version=4)
    resources = {"metadata": {"name": title}, "upstream_agent_links": json_for_script(agent_links or {})}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def json_for_script(data: dict) -> str:
    """`data` as JSON that is safe inside a <script> element (no '<', '>' or '&' left to end it)."""
    import json

    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
