"""PyInstaller's entry script for the frozen `semedit` (same as the console script)."""

import sys

from semedit_gui.launcher import main

if __name__ == "__main__":
    sys.exit(main())
