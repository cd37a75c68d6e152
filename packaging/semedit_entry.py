"""PyInstaller's entry script for the frozen `semedit` (same as the console script)."""

import multiprocessing
import sys

from semedit_gui.launcher import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # `semedit batch --workers N` spawns this executable
    sys.exit(main())
