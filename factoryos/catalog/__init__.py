"""The global catalog of machine models and materials, shared by every company.

A company that needs a spec the catalog lacks adds it; the entry records that company as
its author, every company can use it, and only the author company may edit or delete it
(enforced by RLS policies on `author_tenant_id` as well as here).
"""
