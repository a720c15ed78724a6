"""The platform's rules (`policy/rules.py`), shared by the tests, the offline preview and the CrossGuard pack."""
