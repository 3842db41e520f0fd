"""Genealogy trace: five levels and 100,000 lots, the service beside the raw recursive SQL.

An embedded PostgreSQL in a temp directory; one company with 100,000 lots on five levels
(60,000 supplier lots → 24,000 → 10,000 → 4,000 → 2,000 finished lots), each made lot linked to
three random lots of the level below, and one "hot" supplier lot (a resin, say) that went into
2,000 of the level-4 lots: the recall question's worst case. Seeding runs as the superuser;
traces run as the app role with the company set (row-level security on, as in the server).

For each question it prints the median and worst of N runs of
  service  factoryos.materials.trace.trace(): the recursive walk with each lot's details (item,
           order, machine, operators) joined once per lot, then the inspections and nonconformances
           touching the tree, turned into the response model
  raw      the bare recursive CTE over lot_links returning lot ids (what PostgreSQL alone costs)
  its SQL  the service's tree query alone (rows fetched, no response model)
and the nodes and levels found.

Run: python -m scripts.bench.trace [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from sqlalchemy import create_engine, pool, text

from factoryos.db.tenant import tenant_transaction
from factoryos.materials.trace import MAX_LEVELS, MAX_NODES, SQL, fetch, trace
from scripts.drills.stack import embedded_database, scratch_dir, superuser_url

LEVELS = [(5, 60_000), (4, 24_000), (3, 10_000), (2, 4_000), (1, 2_000)]  # (level, lots); 1 = finished
FAN_IN = 3
HOT_USES = 2_000

RAW = {
    "backward": """
        with recursive walk(lot_id, level) as (
            select cast(:root as uuid), 0
          union
            select l.input_lot_id, w.level + 1 from walk w
            join lot_links l on l.tenant_id = :t and l.output_lot_id = w.lot_id
        ) select count(*), max(level) from walk""",
    "forward": """
        with recursive walk(lot_id, level) as (
            select cast(:root as uuid), 0
          union
            select l.output_lot_id, w.level + 1 from walk w
            join lot_links l on l.tenant_id = :t and l.input_lot_id = w.lot_id
        ) select count(*), max(level) from walk""",
}


def seed(conn, tenant: uuid.UUID) -> dict[str, str]:
    conn.execute(text("insert into companies (tenant_id, name) values (:t, 'Trace bench')"), {"t": tenant})
    for level, count in LEVELS:
        item = conn.execute(text("insert into items (tenant_id, number, name, kind) values (:t, :n, :m, :k) "
                                 "returning id"),
                            {"t": tenant, "n": f"LV{level}", "m": f"Level {level} part",
                             "k": "material" if level == 5 else "product"}).scalar_one()
        conn.execute(text(
            "insert into lots (tenant_id, item_id, number, origin, supplier, supplier_lot, quantity) "
            "select :t, :i, 'LV' || :lv || '-' || lpad(g::text, 6, '0'), :o, "
            "case when :lv = 5 then 'Supplier ' || (g % 40) end, case when :lv = 5 then 'S' || g end, 100 "
            "from generate_series(1, :n) g"),
            {"t": tenant, "i": item, "lv": level, "n": count, "o": "entered" if level == 5 else "production"})
    # Each made lot ← FAN_IN lots of the level below, scattered by a multiplicative hash of its position.
    conn.execute(text("create temp table pos as select id, cast(substr(number, 3, 1) as int) as level, "
                      "cast(substr(number, 5) as int) as n from lots where tenant_id = :t"), {"t": tenant})
    conn.execute(text("create index on pos (level, n)"))
    conn.execute(text("analyze pos"))
    counts = dict(LEVELS)
    for level, _ in LEVELS[1:]:
        conn.execute(text("""
            insert into lot_links (tenant_id, output_lot_id, input_lot_id, quantity)
            select :t, o.id, i.id, 10
            from pos o cross join generate_series(1, :fan) k
            join pos i on i.level = :below_level
                      and i.n = 1 + ((o.n::bigint * 2654435761 + k * 40503) % :below)
            where o.level = :level
            on conflict do nothing"""),
            {"t": tenant, "fan": FAN_IN, "below_level": level + 1, "below": counts[level + 1], "level": level})
    conn.execute(text("""
        insert into lot_links (tenant_id, output_lot_id, input_lot_id, quantity)
        select :t, o.id, h.id, 1 from pos o, pos h
        where o.level = 4 and o.n <= :n and h.level = 5 and h.n = 1
        on conflict do nothing"""), {"t": tenant, "n": HOT_USES})
    conn.execute(text("analyze lots; analyze lot_links"))
    ordinary = conn.execute(text(
        "select i.number from lots i join lot_links l on l.input_lot_id = i.id where i.tenant_id = :t and "
        "i.number like 'LV5-%' and i.number <> 'LV5-000001' group by i.number order by count(*) desc limit 1"),
        {"t": tenant}).scalar_one()
    return {"finished": "LV1-000001", "supplier": ordinary, "hot": "LV5-000001"}


def timed(fn, runs: int) -> tuple[float, float, object]:
    seconds, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds) * 1000, max(seconds) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="Runs per question (median and worst printed).")
    parser.add_argument("--explain", action="store_true", help="Print the service query's plan for the hot lot.")
    args = parser.parse_args()
    tenant = uuid.uuid4()
    with scratch_dir("factoryos-trace-") as data, embedded_database(data) as urls:
        su = create_engine(superuser_url(urls), poolclass=pool.NullPool)
        t0 = time.perf_counter()
        with su.begin() as conn:
            roots = seed(conn, tenant)
            lots, links = conn.execute(text("select (select count(*) from lots), (select count(*) from lot_links)")).one()
        print(f"seeded {lots:,} lots and {links:,} links on {len(LEVELS)} levels in {time.perf_counter() - t0:.1f} s")
        app = create_engine(urls.app, pool_size=1)
        questions = [("backward", roots["finished"], "a finished lot's inputs"),
                     ("forward", roots["supplier"], "where a supplier lot went"),
                     ("forward", roots["hot"], f"where the hot lot went ({HOT_USES:,} uses)"),
                     ("backward", roots["hot"], "a supplier lot has no inputs")]
        print(f"{'question':<38} {'service ms (median/worst)':>26} {'its SQL':>9} {'raw SQL ms':>18} {'nodes':>8} "
              f"{'levels':>7}")
        for direction, lot, label in questions:
            def service(direction=direction, lot=lot):
                with tenant_transaction(app, tenant) as conn:
                    return trace(conn, tenant, lot, direction)

            def raw(direction=direction, lot=lot):
                with tenant_transaction(app, tenant) as conn:
                    root = conn.execute(text("select id from lots where tenant_id = :t and number = :n"),
                                        {"t": tenant, "n": lot}).scalar_one()
                    return conn.execute(text(RAW[direction]), {"t": tenant, "root": root}).one()

            def query_only(direction=direction, lot=lot):
                with tenant_transaction(app, tenant) as conn:
                    root = conn.execute(text("select id from lots where tenant_id = :t and number = :n"),
                                        {"t": tenant, "n": lot}).scalar_one()
                    return fetch(conn, tenant, root, direction)

            s_med, s_max, out = timed(service, args.runs)
            q_med, _, _ = timed(query_only, args.runs)
            r_med, r_max, (count, levels) = timed(raw, args.runs)
            print(f"{label:<38} {s_med:>12.1f} / {s_max:<11.1f} {q_med:>9.1f} {r_med:>8.1f} / {r_max:<7.1f} "
                  f"{len(out.nodes):>8,} {out.levels:>7}")
            assert out.levels == (levels or 0)
        if args.explain:
            with tenant_transaction(app, tenant) as conn:
                root = conn.execute(text("select id from lots where tenant_id = :t and number = :n"),
                                    {"t": tenant, "n": roots["hot"]}).scalar_one()
                plan = conn.execute(text("explain (analyze, buffers off, costs off) " + SQL["forward"]),
                                    {"t": tenant, "root": root, "max_levels": MAX_LEVELS, "max_nodes": MAX_NODES + 1})
                print("\n".join(r[0] for r in plan))
        app.dispose()
        su.dispose()


if __name__ == "__main__":
    main()
