"""Guardrails: the platform's rules and the CrossGuard pack that enforces them.

- `rules.py`: the rules, plain functions over `ResourceView`s (one implementation for every user)
- `adapters.py`: offline registrations and CrossGuard resources -> `ResourceView`
- `enforcement.py` + `config/<stack>.json`: each rule's level per stack
- `pack.py`: the CrossGuard policies built from the rules; `__main__.py` serves them (blocks)
- `offline.py`: the pack's verdict on an offline run (`python -m offline preview --policy`)
"""
