"""`run_batch` prepares each statement once per connection, however often one batch repeats it:
a duty asking every company the same question sends it once per company in one batch."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, text

from factoryos.db.driver import run_batch
from factoryos.db.tenant import ask_each_company

_OURS = text("select count(*) from pg_prepared_statements where name like '\\_fos\\_%'")


def test_a_statement_repeated_in_one_batch_is_prepared_once(app_engine: Engine) -> None:
    with app_engine.connect() as conn:
        before = conn.execute(_OURS).scalar_one()
        question = "select %(n)s::int + 1 as next"
        for _ in range(3):  # the later batches use what the first prepared
            answers = run_batch(conn, [(question, {"n": n}) for n in range(5)])
            assert [rows[0]["next"] for rows in answers] == [1, 2, 3, 4, 5]
        assert conn.execute(_OURS).scalar_one() - before == 1


def test_asking_every_company_prepares_the_question_once(app_engine: Engine) -> None:
    companies = [uuid.uuid4() for _ in range(6)]
    with app_engine.connect() as conn:
        before = conn.execute(_OURS).scalar_one()
        question = "select current_setting('app.tenant_id') = %(t)s as own"
        for _ in range(2):
            answers = ask_each_company(conn, companies, question, lambda t: {"t": str(t)})
            assert [rows[0]["own"] for rows in answers] == [True] * len(companies)
        # The tenant setting and the question: two statements, whatever the number of companies.
        assert conn.execute(_OURS).scalar_one() - before == 2
