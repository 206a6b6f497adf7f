"""Package list for setuptools (everything else is in pyproject.toml).

Why a setup.py: the shipped policies live in ``policies/`` at the top of the repository but
install as ``guardpolicy._policies``. ``[tool.setuptools.packages.find]`` cannot add a package
whose folder is mapped elsewhere by ``package-dir``, so a plain ``pip install .`` left the
shipped policies out (``guard check`` then failed: "no shipped policy named 'default'").
The startup-hook templates in ``sitecustomize/`` install the same way, as ``guardpolicy._sitecustomize``.
``_guardpolicy_startup`` is a top-level module because every start of a hooked interpreter imports
it, and importing the ``guardpolicy`` package first would add ~0.15 ms to each.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["guardpolicy", "guardpolicy.*"]) + ["guardpolicy._policies", "guardpolicy._sitecustomize"],
    py_modules=["_guardpolicy_startup"],
    package_dir={"guardpolicy._policies": "policies", "guardpolicy._sitecustomize": "sitecustomize"},
)
