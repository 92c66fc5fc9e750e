"""Ray Tune's progress display in a Jupyter notebook, below the cell's earlier output.

Seen in ``examples/quickstart.ipynb``: in a notebook Tune draws its status as an HTML table
and, at the ``verbose=1`` a tuning job runs with, clears the cell's output before the first
draw (``JupyterNotebookReporter(overwrite=True)``, Tune's choice below ``verbose=2``). What
raymaker had printed in that cell vanished: the run folder, the searcher and scheduler, the
default configuration's trial and the local Ray's dashboard address. A reporter that keeps
the output is passed in a notebook only: elsewhere Tune's newer console output ignores a
reporter it is given, with a warning.
"""

from __future__ import annotations


def notebook_reporter(in_notebook: bool | None = None):
    """Tune's notebook reporter that leaves the cell's output in place, or None outside a
    notebook (Tune's own console output then). ``in_notebook``: None asks IPython."""
    if in_notebook is None:
        from ray.widgets.util import in_notebook as ask

        in_notebook = ask()
    if not in_notebook:
        return None
    from ray.tune import JupyterNotebookReporter

    return JupyterNotebookReporter(overwrite=False)
