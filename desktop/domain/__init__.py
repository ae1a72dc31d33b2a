"""Pure Python rules of TokenDesk: no Qt, no Peewee, no keyring."""
