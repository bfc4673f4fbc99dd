import sys, time
sys.path.insert(0, "benchmarks")
from bench_strategies import offline_problem
from evfleet.inputs.generate import generate_scenario
from evfleet.strategies import get_strategy
n = int(sys.argv[1]); name = sys.argv[2]
sc = generate_scenario(vehicles=n, seed=1, start="2026-01-15")
p = offline_problem(sc)
s = get_strategy(name, time_limit_s=float(sys.argv[3]) if len(sys.argv) > 3 else None) if len(sys.argv) > 3 else get_strategy(name)
s.start_run()
t = time.perf_counter(); c = time.process_time()
sol = s.solve_problem(p)
print(name, n, "wall", round(time.perf_counter() - t, 2), "cpu", round(time.process_time() - c, 2), sol.n_col, sol.n_row, sol.objective, getattr(sol, "status", None))
