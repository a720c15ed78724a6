"""The AML workspace and its dependencies: storage, Key Vault, registry, Log Analytics + App Insights."""
