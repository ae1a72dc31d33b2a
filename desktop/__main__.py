"""``python -m desktop`` runs the same entry point as the ``tokendesk`` command."""

import sys

if getattr(sys, "frozen", False):
    # In the bundle, a worker process of `tokendesk serve` is this executable started again by
    # multiprocessing (spawn): this runs the worker and exits before the command line is read.
    # Only there: importing multiprocessing costs the window's start 15 ms.
    import multiprocessing

    multiprocessing.freeze_support()

from desktop.cli import main

sys.exit(main())
