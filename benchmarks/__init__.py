"""Speed and load measurements of rnnviz on this machine, run as `python -m benchmarks` from the source checkout:
a second client of the library, not part of it (the library never starts a server or a browser, and never prints).

figures.py      targets, FULL / QUICK settings, one measured figure, a run's result, the machine
training.py     the Trainer against the tutorial's loop and a bare loop, time to 80%, models over seeds
inspection.py   gate trace and predict latency, the Gates page's views, the live curves' refresh
app.py          the app's cold start (app_timing.py) and page reruns (page_timing.py, through AppTest)
threads.py      torch threads on a server that shares its cores with training
report.py       the table, the summary line and docs/benchmarks.md
run.py          every phase once, and the command line (`python -m benchmarks --help`)
server.py       the one launcher of `streamlit run` (also used by the browser tests)
class_load.py   a class of simulated students on one server (`python -m benchmarks class-load`)
recipes.py      a search for a better default training recipe (`python -m benchmarks recipes`)
devices.py      CPU against GPU per model and size, written where device=auto reads it (`python -m benchmarks devices`)
first_point.py  Start to the first curve point, through JobManager and in Chromium
"""
