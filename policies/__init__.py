"""Shipped policies (packaged as ``guardpolicy._policies``)."""
