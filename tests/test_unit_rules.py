"""Rules on how code is written, decided on the source (autograder/rules.py)."""

from autograder.rules import broken_rules
from autograder.spec import Rule

NO_SCIPY = Rule("test_softmax", ("softmax",), ("scipy", "torch"), "Do not call SciPy or PyTorch")


def _broken(*sources):
    return broken_rules([NO_SCIPY], list(sources)).get(NO_SCIPY)


def test_a_plain_numpy_function_keeps_the_rule():
    assert _broken("import numpy as np\nimport scipy.special\n",
                   "def softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n") is None


def test_direct_aliased_from_and_local_imports_break_it():
    assert _broken("import scipy.special\n",
                   "def softmax(z):\n    return scipy.special.softmax(z)\n") == \
        "softmax uses scipy.special.softmax"
    assert "scipy.special" in _broken("import scipy.special as sp\n",
                                      "def softmax(z):\n    return sp.softmax(z)\n")
    assert "scipy.special.softmax" in _broken(
        "from scipy.special import softmax as s\n", "def softmax(z):\n    return s(z)\n")
    assert "torch" in _broken("def softmax(z):\n    import torch\n"
                              "    return torch.softmax(torch.tensor(z), 0).numpy()\n")
    assert "scipy" in _broken("def softmax(z):\n    m = __import__('scipy.special')\n"
                              "    return m.special.softmax(z)\n")


def test_a_helper_function_or_an_alias_does_not_hide_the_call():
    assert "scipy.special.logsumexp" in _broken(
        "from scipy import special\nlse = special.logsumexp\n",
        "def _norm(z):\n    return lse(z)\n\ndef softmax(z):\n    return np.exp(z - _norm(z))\n")


def test_a_function_of_the_same_name_elsewhere_or_another_function_is_not_counted():
    # torch used by another task's function is fine; only the named functions are read
    assert _broken("import torch\n", "def train():\n    return torch.zeros(1)\n",
                   "def softmax(z):\n    return np.exp(z) / np.exp(z).sum()\n") is None
    # a syntax error elsewhere does not hide anything nor crash
    assert _broken("def (:\n",
                   "import scipy\ndef softmax(z):\n    return scipy.special.softmax(z)\n")
