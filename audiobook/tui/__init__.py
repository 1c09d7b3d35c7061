"""The Textual UI: widgets and screens, and the only part of audiobook that imports
Textual. Nothing is imported here, so that importing a module beside the app (or the
review decisions it shows) never loads the app: ``audiobook tui`` imports
``audiobook.tui.app`` itself, and the batch CLI never pays for it.
"""
