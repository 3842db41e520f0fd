"""Backups: pg_dump custom-format archives with a manifest, verified restores, retention.

A backup is two files in the backup directory: `NAME.dump` (pg_dump custom format) and
`NAME.json` (the manifest: SHA-256, size, schema revision, row counts per table, audit
chain heads). Dumps run as the database superuser because every tenant table forces
row-level security, even for its owner.

Entry points: `catalog` (list, find, prune), `create`, `verify`, `restore`, `manifest`.
Nothing is re-exported here: importing any module of the package runs this file first,
so it stays free of SQL and subprocess code for the pure ones (the manifest).
"""
