"""Every state change goes through here: the one place the rules and the two-store protocol live.

:class:`~desktop.services.tokens.TokenService` is the door callers use; behind it, one room per
job: ``directory`` (environments, roles, agents), ``lifecycle`` (a token from creation to
deletion), ``journal`` (the two-store protocol and its reconciler), ``access`` (decisions),
``reads`` (the window's table and the logs), all sharing one ``context`` and one
``unit_of_work``. ``runner`` rotates what is due, off the GUI thread.
"""
