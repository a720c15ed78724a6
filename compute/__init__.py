"""Compute and access: AML compute clusters, the jump host and the self-hosted CI/CD agents."""

# A package of modules: import the public names from each module (their `__all__`, README "Using the library").
__all__: list[str] = []
