"""The subcommands of `semedit`, one module each."""
