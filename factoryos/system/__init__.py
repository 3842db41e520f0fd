"""Shapes of the installation's operations API: health, configuration, backups and restores,
and reading the audit trail (plain pydantic, importable by the terminal app)."""
