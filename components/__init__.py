"""Shared building blocks: typed configuration and the plan computed from it, naming, DNS zone table, tags, private endpoint + DNS."""
