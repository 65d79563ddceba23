"""The example notebook runs from top to bottom on a real Jupyter kernel."""

from __future__ import annotations

import pytest

from conftest import REPO, need

NOTEBOOK = REPO / "examples" / "capacity-planning.ipynb"


def test_capacity_planning_notebook_executes(tmp_path):
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        need("nbclient and nbformat", False, "pip install nbclient nbformat ipykernel")
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        has_kernel = "python3" in KernelSpecManager().find_kernel_specs()
    except Exception:
        has_kernel = False
    need("the python3 Jupyter kernel", has_kernel, "pip install ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # A cell that raises fails here (CellExecutionError), with the cell and traceback.
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, "the notebook draws its three figures"
    text = "".join(o.get("text", "") for o in outputs)
    assert "Fewest H100s that train Llama 3 70B" in text and "ECMP step" in text
    # tqdm's bar draws without warnings (no "IProgress not found" where ipywidgets is not
    # installed), and nothing else lands on stderr but the bar itself.
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "IProgress" not in stderr and "Warning" not in stderr, stderr
    # A report shown in a cell is its compact summary, not the full page.
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    reports = [h for h in html if "memphis.Report" in "".join(h)]
    assert reports and all(len("".join(h)) < 8_000 for h in reports)
