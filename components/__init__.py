"""Shared building blocks: typed configuration and the plan computed from it, naming, DNS zone table, tags, private endpoint + DNS."""

# A package of modules: import the public names from each module (their `__all__`, README "Using the library").
__all__: list[str] = []
