"""Editing: direction library, per-chunk edit stacks, rendering of a document."""
