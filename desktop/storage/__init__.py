"""The registry, on SQLite or on a PostgreSQL server: metadata, fingerprints and the recovery
journal; never a secret.

``database`` opens and migrates the file and wraps it for the services (a :mod:`sqlite3`
connection per thread, transactions); ``postgres`` does the same for a database a team shares
on a server (one schema and the same SQL on both engines); ``queries`` holds every raw SQL
read, ``repository`` every model read and write (Peewee, imported on first use: ``lazy``);
``states`` the stored values the layers above compare against; ``errors`` turns the drivers'
errors into :class:`~desktop.domain.errors.DatabaseError`, so the services above never import
Peewee or psycopg or catch their errors.
"""
