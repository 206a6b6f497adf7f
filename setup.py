"""Package list for setuptools (everything else is in pyproject.toml).

Why a setup.py: the shipped policies live in ``policies/`` at the top of the repository but
install as ``guardpolicy._policies``. ``[tool.setuptools.packages.find]`` cannot add a package
whose folder is mapped elsewhere by ``package-dir``, so a plain ``pip install .`` left the
shipped policies out (``guard check`` then failed: "no shipped policy named 'default'").
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["guardpolicy", "guardpolicy.*"]) + ["guardpolicy._policies"],
    package_dir={"guardpolicy._policies": "policies"},
)
