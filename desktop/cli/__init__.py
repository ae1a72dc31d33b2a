"""The ``tokendesk`` command line. With no command it opens the desktop window.

Every change goes through :class:`~desktop.services.tokens.TokenService`, so the command line and
the window keep the same rules. Read-only commands (lists, ``token show`` without ``--reveal``,
``verify``, ``audit``) never touch the keyring; commands that handle a secret refuse to start
without a usable one. Bad input, or an action the rules refuse, exits with status 2 and one line
on standard error, and changes nothing; the other statuses are in :mod:`.common` and ``--help``.

One module per noun holds its commands' parsers beside their handlers; :mod:`.common` and
:mod:`.output` are what they share, and :mod:`.program` puts them together.
"""

from desktop.cli.program import build_parser, main

__all__ = ["build_parser", "main"]
