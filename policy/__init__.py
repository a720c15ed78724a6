"""Guardrails: the platform's rules and the CrossGuard pack that enforces them.

- `rules/`: the rules, plain functions over `ResourceView`s (one implementation for every user), a
  module per area (network, workspace, access, monitoring, compute) over the engine in `rules/base.py`
- `adapters.py`: offline registrations and CrossGuard resources -> `ResourceView`
- `enforcement.py` + `config/<stack>.json`: each rule's level per stack
- `pack.py`: the CrossGuard policies built from the rules; `__main__.py` serves them (blocks)
(The pack's verdict on an offline run, `python -m offline preview --policy`, is the tool's own:
`offline/policy_check.py`. The guardrails never import the tools that use them.)
"""
