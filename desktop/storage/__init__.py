"""SQLite through Peewee: metadata, fingerprints and the recovery journal; never a secret."""
