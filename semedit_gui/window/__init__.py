"""The main window's parts: its actions, menus and toolbars (`actions`), and closing
without ever destroying a running worker thread (`closing`)."""
