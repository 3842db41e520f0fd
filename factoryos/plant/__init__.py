"""The plant registry: sites, areas, lines, machines (with status mappings) and site operators.

Services take a tenant-scoped connection (`factoryos.db.tenant`) and the tenant id, filter
by it in SQL as well, and raise `factoryos.errors` exceptions naming the offending field.
"""
