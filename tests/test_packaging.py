"""`pip install .` (a wheel) gives a working course package and grader (issue 14, section 3):
dependencies and extras declared, the C sources shipped as package data."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from autograder import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = out.glob("infoloss-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_declares_dependencies_and_extras(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(meta_name))
        names = z.namelist()
    requires = meta.get_all("Requires-Dist")
    plain = {r.split(";")[0].split(">")[0].split("=")[0].strip() for r in requires
             if "extra ==" not in r}
    assert {"numpy", "scipy", "matplotlib", "scikit-learn", "nbformat", "tqdm"} <= plain
    assert {"torch", "grader", "book", "dev"} <= set(meta.get_all("Provides-Extra"))
    assert any(r.startswith("nbgrader") and 'extra == "grader"' in r for r in requires)
    assert "infoloss/csrc/lenet5/lenet5.c" in names
    assert any(n.startswith("autograder/") and n.endswith("runner.py") for n in names)
    assert not [n for n in names if n.startswith(("solutions/", "tests/"))]


@pytest.mark.slow
def test_an_installed_wheel_compiles_the_c_program_and_finds_the_course(wheel, tmp_path):
    """Installed into a folder of its own (imported before the checkout's editable copy),
    the course package compiles LeNet-5 from its package data, and the grader, started
    from the course folder, finds the problem sets."""
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target",
                           str(target), str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code = ("import infoloss, infoloss.clenet as c, autograder, autograder.release as r\n"
            "from pathlib import Path\n"
            f"assert Path(infoloss.__file__).is_relative_to({str(target)!r}), infoloss.__file__\n"
            "assert c.SOURCE.is_file(), c.SOURCE\n"
            "exe = c.build('ce_fixed')\n"
            "assert exe.is_file()\n"
            "print(autograder.ROOT, len(r.assignments()))\n")
    # -S: no site hooks, so the editable install cannot answer `import infoloss`; -P: nor
    # can the checkout in the current folder;
    # the dependencies still come from this environment's site-packages
    deps = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": os.pathsep.join([str(target), deps]), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-S", "-P", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    root, count = proc.stdout.split()
    assert Path(root) == ROOT and int(count) >= 6
