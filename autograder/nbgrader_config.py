"""nbgrader configuration for this course.

Loaded by ``python -m autograder`` and by nbgrader's own commands when run with
``--config autograder/nbgrader_config.py`` from the repository root (or copy it to the
course root). Layout: ``solutions/`` is nbgrader's source folder (instructor notebooks
with solutions and hidden tests) and ``exercises/`` its release folder (student copies).
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.root = os.environ.get("INFOLOSS_COURSE_ROOT", ROOT)
c.CourseDirectory.course_id = "infoloss"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Jupytext percent twins of the solution notebooks hold solutions: never release them.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py",
                            "mutants_equivalent.*"]  # the instructor's mutation-analysis notes

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# Autograding: generous per-cell timeout for the training cells; a CPU-only grade must
# still finish in minutes.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300
