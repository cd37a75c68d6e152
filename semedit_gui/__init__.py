"""SemEdit's desktop front end (PySide6). All heavy work lives in `core`."""
