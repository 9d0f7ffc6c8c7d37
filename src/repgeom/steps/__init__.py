"""Workflow steps: one module per rule family, run as ``python -m repgeom.steps.<step>``.

Each parses its arguments, reads its inputs, calls the functional core and
writes its outputs atomically.  Heavy imports happen inside the step that
needs them.
"""
