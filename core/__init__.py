"""SemEdit's Qt-free engine: generators, inversion, editing, faces, segments, projects."""

__version__ = "0.1.0"
