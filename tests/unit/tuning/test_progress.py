"""In a notebook, Tune's progress table must not erase what raymaker printed before it."""

import warnings

from tuning.progress import notebook_reporter


def test_outside_a_notebook_tune_keeps_its_own_console_output():
    assert notebook_reporter() is None  # pytest is no notebook: IPython is asked
    assert notebook_reporter(in_notebook=False) is None


def test_in_a_notebook_the_reporter_keeps_the_cells_output():
    from ray.tune import JupyterNotebookReporter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not an IPython environment": this is pytest
        reporter = notebook_reporter(in_notebook=True)
    assert isinstance(reporter, JupyterNotebookReporter)
    assert reporter._overwrite is False  # True would clear_output() before its first table
