"""Benchmark tooling: realistic studio data at scale, loaded with bulk SQL.

Meant for a dedicated bench site, never a studio's live site:

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.seed.run
"""
