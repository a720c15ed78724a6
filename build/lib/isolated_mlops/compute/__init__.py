"""Compute and access: AML compute clusters, the jump host and the self-hosted CI/CD agents."""
