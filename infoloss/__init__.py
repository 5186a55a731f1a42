"""Course package for *Information theory behind classification losses*.

One small library shared by the chapters, the graded exercises and the autograder, in
the spirit of d2l.ai's ``d2l`` package: data loaders, device choice, the plotting style
and the test helpers live here once instead of being copied between notebooks.

The package deliberately holds none of the functions students implement in the
exercises (entropy, KL, stable softmax, ...): those are taught in the chapters and
graded against independent references (SciPy, PyTorch).
"""

__version__ = "0.1.0"
