"""The companies whose SCIM directory keeps a record of an account, for a rename to follow there.

Revision ID: 0032_scim_record_companies
Revises: 0031_nc_machine_count

A SCIM rename changes the person's sign-in email everywhere, and each company's SCIM record of them
follows it in the same transaction (factoryos/sso/scim_rename.py). A company whose directory
deactivated the person keeps its record of them but no longer has them as a member, so
`identity_user_companies` (0003) does not name it. Finding it crosses tenants, so, as there, one narrow
SECURITY DEFINER function answers it: every company has its owner's row in the private membership
directory, each is looked at under its own tenant setting, and the caller's setting is restored. It
answers only the company (id and name) holding a record of the account, nothing of the record.
"""

from alembic import op

from factoryos.db.migrations.helpers_v1 import APP_ROLE

revision = "0032_scim_record_companies"
down_revision = "0031_nc_machine_count"
branch_labels = None
depends_on = None

SIGNATURE = "scim_record_companies(uuid)"

RECORD_COMPANIES_FN = """
create function scim_record_companies(p_user uuid)
returns table (tenant_id uuid, company_name text)
language plpgsql volatile security definer set search_path = '' as $$
declare
  saved text := coalesce(current_setting('app.tenant_id', true), '');
  company uuid;
begin
  for company in select distinct d.company_id from public.membership_directory d order by d.company_id loop
    perform set_config('app.tenant_id', company::text, true);
    return query
      select c.tenant_id, c.name::text from public.companies c
      where c.tenant_id = company
        and exists (select 1 from public.scim_users s where s.tenant_id = company and s.user_id = p_user);
  end loop;
  perform set_config('app.tenant_id', saved, true);
end $$
"""


def upgrade() -> None:
    op.execute(RECORD_COMPANIES_FN)
    op.execute(f"revoke all on function {SIGNATURE} from public")
    op.execute(f"grant execute on function {SIGNATURE} to {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"drop function {SIGNATURE}")
