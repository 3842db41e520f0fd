"""MQTT as a third machine-connection protocol (Sparkplug B or JSON topics through a broker).

Revision ID: 0014_mqtt
Revises: 0013_shift_handover

Only the protocol check widens: an MQTT connection keeps its broker, topics and metric names in
the same `endpoint` and `signals` JSON columns, and its broker password in `password_encrypted`
like an OPC-UA user's. Downgrading deletes MQTT connections (the older schema cannot poll them);
their machines, counts and states stay.
"""

from alembic import op

revision = "0014_mqtt"
down_revision = "0013_shift_handover"
branch_labels = None
depends_on = None

_CHECK = "ck_machine_connections_protocol"


def _protocols(*names: str) -> None:
    op.drop_constraint(_CHECK, "machine_connections", type_="check")
    op.create_check_constraint(_CHECK, "machine_connections", f"protocol in ({', '.join(repr(n) for n in names)})")


def upgrade() -> None:
    _protocols("modbus", "opcua", "mqtt")


def downgrade() -> None:
    # Every company's rows: FORCE would hide them from the owner running this (no tenant set).
    op.execute("alter table machine_connections no force row level security")
    op.execute("delete from machine_connections where protocol = 'mqtt'")
    op.execute("alter table machine_connections force row level security")
    _protocols("modbus", "opcua")
