"""isolated_mlops: a network-isolated MLOps platform on Azure Machine Learning, as Pulumi components.

The installable package. Its subpackages are the repository's top-level folders, mapped by
pyproject.toml (`[tool.setuptools.package-dir]`); in a checkout the same names resolve through the
links in this folder, so `__main__.py`, the tools and the tests import exactly what `pip install`
gives another team:

- `isolated_mlops.network`: virtual networks with their NSGs and NAT, peering, private DNS zones, Bastion;
- `isolated_mlops.workspace`: the Azure ML workspace and its dependencies (storage, Key Vault,
  container registry, monitoring), the model registry, alerts;
- `isolated_mlops.compute`: compute clusters, Linux VMs, self-hosted CI/CD agents;
- `isolated_mlops.components`: the shared building blocks (private endpoint + DNS, naming,
  diagnostics, roles, Azure facts such as zones, providers and VM sizes, the stack configuration);
- `isolated_mlops.policy`: the guardrails (CrossGuard pack and the same rules run offline).

The public API is what each subpackage's `__all__` names (README, "Using the library"); anything
else is internal and may change between minor versions (CHANGELOG.md). Importing this module is
cheap on purpose: it imports no subpackage, so a program pays only for what it uses.
"""

__version__ = "0.9.0"
