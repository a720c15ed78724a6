"""Read-only checks against the live subscription: `preflight` before `pulumi up`, `verify` after.

A tool, like `offline/` and `policy/`: it reads the program's registrations (through the offline
engine) and Azure Resource Manager, and never writes to either.
"""
