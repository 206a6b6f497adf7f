"""Files ``guard hook install`` writes into an environment's site-packages (packaged as
``guardpolicy._sitecustomize``): ``guardpolicy.pth``, ``guardpolicy.start`` (PEP 829, Python 3.15+)
and the opt-in chaining ``sitecustomize.py``. Not imported at run time; read as data."""
