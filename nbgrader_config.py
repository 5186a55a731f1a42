# Lets nbgrader's own commands (nbgrader generate_assignment, autograde, ...) run from the
# repository root. The configuration itself lives in autograder/nbgrader_config.py.
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
