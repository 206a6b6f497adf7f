"""Test helpers shared by several test modules (fake servers, fixtures).

Nothing here is part of the product; it is imported by tests only.
"""
