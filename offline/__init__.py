"""Offline preview, diff, diagram and critical path: the real program under Pulumi mocks."""
