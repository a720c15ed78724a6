"""The AML workspace and its dependencies: storage, Key Vault, registry, Log Analytics + App Insights."""

# A package of modules: import the public names from each module (their `__all__`, README "Using the library").
__all__: list[str] = []
