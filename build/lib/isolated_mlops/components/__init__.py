"""Shared building blocks: typed configuration, naming, DNS zone table, tags, private endpoint + DNS."""
