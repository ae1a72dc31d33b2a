"""The pages of the directory dialog ("Agents & roles"): agents, roles, environments.

Each tab is a widget of its own that talks to the service and reports what happened through
its signals; :class:`desktop.gui.directory_dialog.DirectoryDialog` composes them and shows the
one error or status line they share. The role drafts (:mod:`.drafts`) need no Qt at all.
"""
