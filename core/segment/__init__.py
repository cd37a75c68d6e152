"""Chunk masks: files, painting, Segment Anything, automatic face chunks."""
