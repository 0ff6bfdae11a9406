"""archived topics

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00.000000
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# A topic is archived instead of deleted: its labels and the items of sent digests no longer cascade away.
KEPT = (('decisions', 'fk_decisions_topic_id_topics'), ('digest_items', 'fk_digest_items_topic_id_topics'))
# Names are refused from now on when they hold control characters; names saved before become one line.
NAMED = ('communities', 'topics', 'sources', 'members', 'users')
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line_names() -> None:
    connection = op.get_bind()
    for name in NAMED:
        table = sa.table(name, sa.column('id', sa.Integer), sa.column('name', sa.String))
        for row in connection.execute(sa.select(table.c.id, table.c.name)).all():
            if row.name and CONTROL.search(row.name):
                clean = " ".join(CONTROL.sub(" ", row.name).split()) or ("" if name in ('members', 'users') else "-")
                connection.execute(sa.update(table).where(table.c.id == row.id).values(name=clean))


def upgrade() -> None:
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True, comment='When the topic left its community; NULL while it is in use.'))
    for table, name in KEPT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_='foreignkey')
            batch_op.create_foreign_key(name, 'topics', ['topic_id'], ['id'])
    one_line_names()


def downgrade() -> None:
    for table, name in KEPT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_='foreignkey')
            batch_op.create_foreign_key(name, 'topics', ['topic_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
