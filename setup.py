"""Package list only (everything else is in pyproject.toml).

``packages.find`` in pyproject.toml cannot map the top-level ``policies/`` folder to the
``guardpolicy._policies`` package, so a wheel would ship without the shipped policies
(``guard check`` with no config would then fail). Every ``guardpolicy*`` package is still
found automatically.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["guardpolicy", "guardpolicy.*"]) + ["guardpolicy._policies"],
    package_dir={"guardpolicy._policies": "policies"},
)
