@echo off
REM evfleet: create .venv, install the dev extras, run the whole test suite (same as `make test`).
REM Browser tests need a Chromium; they are skipped with a reason when none is found.
if not exist .venv\Scripts\python.exe py -3.11 -m venv .venv || python -m venv .venv
.venv\Scripts\python.exe -m pip install --quiet --upgrade pip
.venv\Scripts\python.exe -m pip install --quiet -e ".[dev]"
if errorlevel 1 exit /b 1
.venv\Scripts\ruff.exe check src tests benchmarks || exit /b 1
.venv\Scripts\ruff.exe format --check src tests benchmarks || exit /b 1
.venv\Scripts\python.exe -m pytest -q
