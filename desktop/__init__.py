"""TokenDesk: a desktop manager for API tokens whose secrets live in the OS keyring."""

__version__ = "0.1.0"
